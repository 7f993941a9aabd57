//! Who a verified token names, and with which roles. Leadpool's own tokens (services',
//! development sign-in's, `make token`'s) carry Leadpool's claims: `sub` is the subject,
//! `roles` its role names. A company's identity provider names people and groups its own way
//! (`email`, `preferred_username`; `groups`, `realm_access.roles`, app roles), so its tokens
//! are read through the mapping `auth.claims` configures — and a person named by email or login
//! is found among the policy's reps by the auth layer ([`RepDirectory`]).

use std::collections::{BTreeMap, BTreeSet};

use futures_util::future::BoxFuture;
use leadpool_config::{ClaimMappingConfig, SubjectMatch};
use leadpool_domain::RepId;
use serde_json::{Map, Value};

use crate::identity::{Identity, Role, Subject};
use crate::token::TokenError;

/// A field of a rep in the policy that names her at the identity provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepField {
    Email,
    Login,
}

/// A rep to find by how the identity provider names her.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepLookup {
    pub field: RepField,
    /// Lowercased.
    pub value: String,
}

/// Finds reps of the policy in force by their email or login.
pub trait RepDirectory: Send + Sync {
    fn find<'a>(&'a self, lookup: &'a RepLookup) -> BoxFuture<'a, Option<RepId>>;
}

/// How to read a token's claims.
#[derive(Debug, Clone)]
pub struct ClaimMapping {
    subject: String,
    matching: SubjectMatch,
    roles: String,
    /// Lowercased provider values → roles; empty: the values are role names.
    role_map: BTreeMap<String, Role>,
    team: String,
}

impl ClaimMapping {
    /// Leadpool's own claims.
    pub fn native() -> Self {
        Self::from_config(&ClaimMappingConfig::default())
    }

    /// The mapping `auth.claims` configures (validated with the configuration: a role that is
    /// not one of Leadpool's is left out).
    pub fn from_config(config: &ClaimMappingConfig) -> Self {
        Self {
            subject: config.subject.clone(),
            matching: config.matching,
            roles: config.roles.clone(),
            role_map: config
                .role_map
                .iter()
                .filter_map(|(from, to)| Some((from.to_lowercase(), Role::from_name(to)?)))
                .collect(),
            team: config.team.clone(),
        }
    }

    /// The identity `claims` name — and, when the person is named by email or login, the rep
    /// to look for (until found, she is `users/{value}`).
    pub fn read(
        &self,
        claims: &Map<String, Value>,
    ) -> Result<(Identity, Option<RepLookup>), TokenError> {
        let named = claim(claims, &self.subject)
            .and_then(text)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| TokenError::MissingClaim(self.subject.clone()))?;
        let (subject, lookup) = match self.matching {
            SubjectMatch::Subject => (Subject::parse(&named), None),
            SubjectMatch::RepId => {
                let id = named.strip_prefix("reps/").unwrap_or(&named);
                let rep = RepId::parse(id, &self.subject)
                    .map_err(|_| TokenError::BadClaim(self.subject.clone()))?;
                (Subject::Rep(rep), None)
            }
            SubjectMatch::Email | SubjectMatch::Login => {
                let value = named.to_lowercase();
                let field = if self.matching == SubjectMatch::Email {
                    RepField::Email
                } else {
                    RepField::Login
                };
                (
                    Subject::Other(format!("users/{value}")),
                    Some(RepLookup { field, value }),
                )
            }
        };
        let roles = self.roles_of(claims);
        if roles.is_empty() {
            return Err(TokenError::NoRoles);
        }
        let team = claim(claims, &self.team)
            .and_then(text)
            .filter(|t| !t.is_empty());
        Ok((
            Identity {
                subject,
                roles,
                team,
            },
            lookup,
        ))
    }

    fn roles_of(&self, claims: &Map<String, Value>) -> BTreeSet<Role> {
        let values: Vec<String> = match claim(claims, &self.roles) {
            Some(Value::Array(items)) => items.iter().filter_map(text).collect(),
            Some(Value::String(one)) => one
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        };
        values
            .iter()
            .filter_map(|value| {
                if self.role_map.is_empty() {
                    Role::from_name(value)
                } else {
                    self.role_map.get(&value.to_lowercase()).copied()
                }
            })
            .collect()
    }
}

/// The claim `name`: a top-level claim of that name (Auth0's namespaced claims hold dots),
/// else the dotted path into nested objects (Keycloak's `realm_access.roles`).
fn claim<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    if let Some(value) = claims.get(name) {
        return Some(value);
    }
    let mut parts = name.split('.');
    let mut value = claims.get(parts.next()?)?;
    for part in parts {
        value = value.as_object()?.get(part)?;
    }
    Some(value)
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn claims(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    fn mapping(config: ClaimMappingConfig) -> ClaimMapping {
        ClaimMapping::from_config(&config)
    }

    #[test]
    fn leadpools_own_claims_are_read_as_they_are() {
        let (identity, lookup) = ClaimMapping::native()
            .read(&claims(
                json!({"sub": "reps/ann", "roles": ["rep", "unknown"], "team": "west"}),
            ))
            .unwrap();
        assert_eq!(identity.actor(), "reps/ann");
        assert_eq!(identity.roles, BTreeSet::from([Role::Rep]));
        assert_eq!(identity.team.as_deref(), Some("west"));
        assert_eq!(lookup, None);
    }

    #[test]
    fn keycloak_names_her_by_email_and_groups_her_in_realm_roles() {
        let keycloak = mapping(ClaimMappingConfig {
            subject: "email".into(),
            matching: SubjectMatch::Email,
            roles: "realm_access.roles".into(),
            role_map: BTreeMap::from([
                ("Sales".into(), "rep".into()),
                ("sales-managers".into(), "manager".into()),
            ]),
            ..ClaimMappingConfig::default()
        });
        let token = claims(json!({
            "sub": "f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
            "email": "Ann@Example.com",
            "realm_access": {"roles": ["sales", "offline_access", "Sales-Managers"]}
        }));
        let (identity, lookup) = keycloak.read(&token).unwrap();
        assert_eq!(
            identity.actor(),
            "users/ann@example.com",
            "until found among the reps"
        );
        assert_eq!(identity.roles, BTreeSet::from([Role::Rep, Role::Manager]));
        assert_eq!(
            lookup,
            Some(RepLookup {
                field: RepField::Email,
                value: "ann@example.com".into()
            })
        );
    }

    #[test]
    fn a_namespaced_claim_with_dots_and_a_space_separated_string_are_read() {
        let auth0 = mapping(ClaimMappingConfig {
            subject: "nickname".into(),
            matching: SubjectMatch::RepId,
            roles: "https://leadpool.example.com/roles".into(),
            ..ClaimMappingConfig::default()
        });
        let token = claims(json!({
            "nickname": "ann",
            "https://leadpool.example.com/roles": "rep manager"
        }));
        let (identity, lookup) = auth0.read(&token).unwrap();
        assert_eq!(identity.actor(), "reps/ann");
        assert_eq!(identity.roles, BTreeSet::from([Role::Rep, Role::Manager]));
        assert_eq!(lookup, None);
    }

    #[test]
    fn a_token_without_the_mapped_claims_is_refused() {
        let okta = mapping(ClaimMappingConfig {
            subject: "email".into(),
            matching: SubjectMatch::Email,
            roles: "groups".into(),
            role_map: BTreeMap::from([("sales".into(), "rep".into())]),
            ..ClaimMappingConfig::default()
        });
        assert_eq!(
            okta.read(&claims(json!({"sub": "x", "groups": ["sales"]}))),
            Err(TokenError::MissingClaim("email".into()))
        );
        assert_eq!(
            okta.read(&claims(
                json!({"email": "ann@example.com", "groups": ["Everyone"]})
            )),
            Err(TokenError::NoRoles),
            "no group maps to a role"
        );
        let by_id = mapping(ClaimMappingConfig {
            subject: "preferred_username".into(),
            matching: SubjectMatch::RepId,
            ..ClaimMappingConfig::default()
        });
        assert_eq!(
            by_id.read(&claims(
                json!({"preferred_username": "Ann Smith", "roles": ["rep"]})
            )),
            Err(TokenError::BadClaim("preferred_username".into()))
        );
    }
}
