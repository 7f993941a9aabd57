//! The acting identity of a call, as established by the auth layer.

use std::collections::BTreeSet;
use std::fmt;

use leadpool_domain::{Authority, RepId};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Claims and works leads for herself.
    Rep,
    /// Acts on the reps of her team; oversees every pool.
    Manager,
    /// Configures pools, reps and policy; runs jobs.
    Admin,
    /// Another Leadpool service or an integrated platform.
    Service,
}

impl Role {
    /// As tokens spell it (`roles`): `rep`, `manager`, `admin`, `service`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Rep => "rep",
            Self::Manager => "manager",
            Self::Admin => "admin",
            Self::Service => "service",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Rep, Self::Manager, Self::Admin, Self::Service]
            .into_iter()
            .find(|role| role.name() == name)
    }
}

/// Who the token was issued to, from its `sub` claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// `reps/{id}`: a sales rep.
    Rep(RepId),
    /// `services/{name}`, `users/{name}` or any other principal.
    Other(String),
}

impl Subject {
    pub fn parse(sub: &str) -> Self {
        match RepId::from_name(sub, "sub") {
            Ok(rep) => Self::Rep(rep),
            Err(_) => Self::Other(sub.to_owned()),
        }
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rep(rep) => f.write_str(&rep.name()),
            Self::Other(name) => f.write_str(name),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub subject: Subject,
    pub roles: BTreeSet<Role>,
    pub team: Option<String>,
}

impl Identity {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn has_any_role(&self, roles: &[Role]) -> bool {
        roles.iter().any(|role| self.has_role(*role))
    }

    /// The rep this identity is, if it is one.
    pub fn rep(&self) -> Option<&RepId> {
        match &self.subject {
            Subject::Rep(rep) => Some(rep),
            Subject::Other(_) => None,
        }
    }

    /// What the caller may oversee by her roles: admins and services everything, a manager
    /// (her subject a rep of the policy) her teams, a rep her own leads.
    pub fn authority(&self) -> Authority {
        if self.has_any_role(&[Role::Admin, Role::Service]) {
            return Authority::Everything;
        }
        match (self.rep(), self.has_role(Role::Manager)) {
            (Some(rep), true) => Authority::Manager(rep.clone()),
            (Some(rep), false) => Authority::Rep(rep.clone()),
            (None, _) => Authority::Nothing,
        }
    }

    /// How the identity appears in lead history: `reps/alice`, `services/scheduler`.
    pub fn actor(&self) -> String {
        self.subject.to_string()
    }
}
