//! Identifiers and their resource names (`leads/{uuid}`, `pools/{slug}`, `reps/{slug}`).

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::validation::FieldViolation;

/// A lead's id: a UUIDv7, so ids sort by creation time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LeadId(pub Uuid);

impl LeadId {
    pub const COLLECTION: &'static str = "leads";

    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }

    /// Parses `leads/{uuid}`; `field` names the request field in the violation.
    pub fn from_name(name: &str, field: &str) -> Result<Self, FieldViolation> {
        let id = strip_collection(name, Self::COLLECTION, field)?;
        Uuid::parse_str(id).map(Self).map_err(|_| {
            FieldViolation::new(
                field,
                format!("`{id}` is not a lead id; expected leads/{{uuid}}"),
            )
        })
    }

    pub fn name(&self) -> String {
        format!("{}/{}", Self::COLLECTION, self.0)
    }
}

impl Default for LeadId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for LeadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

macro_rules! slug_id {
    ($(#[$doc:meta])* $name:ident, $collection:literal, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub const COLLECTION: &'static str = $collection;

            /// Parses a bare id such as `west-hot`.
            pub fn parse(id: &str, field: &str) -> Result<Self, FieldViolation> {
                validate_slug(id, field, $what).map(|()| Self(id.to_owned()))
            }

            /// Parses a resource name such as `pools/west-hot`.
            pub fn from_name(name: &str, field: &str) -> Result<Self, FieldViolation> {
                let id = strip_collection(name, Self::COLLECTION, field)?;
                Self::parse(id, field)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn name(&self) -> String {
                format!("{}/{}", Self::COLLECTION, self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = FieldViolation;
            fn try_from(id: String) -> Result<Self, Self::Error> {
                validate_slug(&id, "id", $what).map(|()| Self(id))
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }
    };
}

slug_id!(
    /// A pool's id, chosen by whoever configures it: `west-hot`.
    PoolId,
    "pools",
    "pool"
);
slug_id!(
    /// A rep's id, the same as the subject of her token (`reps/{id}`).
    RepId,
    "reps",
    "rep"
);

const MAX_SLUG_LEN: usize = 63;

fn validate_slug(id: &str, field: &str, what: &str) -> Result<(), FieldViolation> {
    let well_formed = !id.is_empty()
        && id.len() <= MAX_SLUG_LEN
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && !id.ends_with('-')
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if well_formed {
        Ok(())
    } else {
        Err(FieldViolation::new(
            field,
            format!(
                "`{id}` is not a valid {what} id: use 1 to {MAX_SLUG_LEN} lowercase letters, digits \
                 and '-', starting with a letter"
            ),
        ))
    }
}

fn strip_collection<'a>(
    name: &'a str,
    collection: &str,
    field: &str,
) -> Result<&'a str, FieldViolation> {
    if name.is_empty() {
        return Err(FieldViolation::new(
            field,
            format!("is required: a resource name such as {collection}/{{id}}"),
        ));
    }
    name.strip_prefix(collection)
        .and_then(|rest| rest.strip_prefix('/'))
        .filter(|id| !id.is_empty() && !id.contains('/'))
        .ok_or_else(|| {
            FieldViolation::new(
                field,
                format!("`{name}` is not a resource name of the form {collection}/{{id}}"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lead_names_round_trip() {
        let id = LeadId::new();
        assert_eq!(LeadId::from_name(&id.name(), "name").unwrap(), id);
    }

    #[test]
    fn bad_lead_names_name_the_field() {
        for bad in ["", "leads/", "leads/not-a-uuid", "pools/x", "leads/a/b"] {
            let err = LeadId::from_name(bad, "name").unwrap_err();
            assert_eq!(err.field, "name", "{bad}");
        }
    }

    #[test]
    fn slugs_accept_lowercase_ids_and_refuse_the_rest() {
        assert_eq!(
            PoolId::from_name("pools/west-hot", "pool")
                .unwrap()
                .as_str(),
            "west-hot"
        );
        for bad in [
            "",
            "West",
            "1west",
            "west-",
            "we st",
            "wést",
            &"a".repeat(64),
        ] {
            assert!(PoolId::parse(bad, "pool_id").is_err(), "{bad:?}");
        }
        assert!(RepId::from_name("pools/alice", "rep").is_err());
    }
}
