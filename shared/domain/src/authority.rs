//! What a caller may oversee, as the token says (the policy then says what that covers).

use crate::ids::RepId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authority {
    /// Admins and services: every lead, every rep.
    Everything,
    /// A manager: the teams the policy says she oversees.
    Manager(RepId),
    /// A rep: her own leads.
    Rep(RepId),
    /// Anyone else: nothing.
    Nothing,
}
