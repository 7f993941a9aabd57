//! The one mapping from Leadpool's [`Error`] to gRPC statuses with `google.rpc` details.

use std::collections::HashMap;
use std::time::Duration;

use leadpool_auth::{Identity, Role};
use leadpool_domain::validation::excerpt;
use leadpool_domain::{Error, Reason};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The domain of every `google.rpc.ErrorInfo` Leadpool sends.
pub const ERROR_DOMAIN: &str = "leadpool.dev";

/// How much of a message, and of each detail, a status carries: errors may quote what the
/// caller sent, and a status too large for stock clients' 8 KiB metadata limit reaches them as
/// RESOURCE_EXHAUSTED instead of what went wrong.
const MESSAGE_CHARS: usize = 1024;
const DETAIL_CHARS: usize = 256;
const MAX_DETAILS: usize = 20;

fn short(text: impl AsRef<str>) -> String {
    excerpt(text.as_ref(), DETAIL_CHARS)
}

/// Converts a domain error into the status the caller receives.
pub fn to_status(err: Error) -> Status {
    let message = excerpt(&err.to_string(), MESSAGE_CHARS);
    let mut details = ErrorDetails::new();
    let code = match err {
        Error::InvalidArgument(violations) => {
            for v in violations.into_iter().take(MAX_DETAILS) {
                details.add_bad_request_violation(short(v.field), short(v.description));
            }
            Code::InvalidArgument
        }
        Error::NotFound { resource, name } => {
            details.set_resource_info(resource, short(name), "", "not found");
            Code::NotFound
        }
        Error::AlreadyExists { name, .. } => {
            details.set_resource_info("", short(name), "", "already exists");
            Code::AlreadyExists
        }
        Error::FailedPrecondition { violations, .. } => {
            if let Some(first) = violations.first() {
                details.set_error_info(first.kind.as_str(), ERROR_DOMAIN, HashMap::new());
            }
            for v in violations.into_iter().take(MAX_DETAILS) {
                details.add_precondition_failure_violation(
                    v.kind.as_str(),
                    short(v.subject),
                    short(v.description),
                );
            }
            Code::FailedPrecondition
        }
        Error::ResourceExhausted {
            reason,
            violations,
            retry_after,
            ..
        } => {
            details.set_error_info(reason.as_str(), ERROR_DOMAIN, HashMap::new());
            for v in violations.into_iter().take(MAX_DETAILS) {
                details.add_quota_failure_violation(short(v.subject), short(v.description));
            }
            if retry_after.is_some() {
                details.set_retry_info(retry_after);
            }
            Code::ResourceExhausted
        }
        Error::PermissionDenied(_) => Code::PermissionDenied,
        Error::Unavailable { dependency, .. } => {
            details.set_error_info(
                Reason::DependencyUnavailable.as_str(),
                ERROR_DOMAIN,
                HashMap::from([("dependency".to_owned(), dependency.to_owned())]),
            );
            details.set_retry_info(Some(Duration::from_secs(1)));
            Code::Unavailable
        }
        Error::OutcomeUnknown(_) => {
            details.set_error_info(
                Reason::DependencyUnavailable.as_str(),
                ERROR_DOMAIN,
                HashMap::from([("dependency".to_owned(), "postgres".to_owned())]),
            );
            Code::Unavailable
        }
        Error::DeadlineExceeded(_) => {
            details.set_error_info(
                Reason::DeadlineExceeded.as_str(),
                ERROR_DOMAIN,
                HashMap::new(),
            );
            Code::DeadlineExceeded
        }
        Error::Internal(detail) => {
            tracing::error!(error = %detail, "internal error");
            return Status::internal("internal error; the details are in the service's log");
        }
    };
    Status::with_error_details(code, message, details)
}

/// The identity the auth layer attached to the call.
pub fn caller<T>(request: &tonic::Request<T>) -> Result<Identity, Error> {
    request
        .extensions()
        .get::<Identity>()
        .cloned()
        .ok_or_else(|| Error::Internal("the auth layer did not run for this call".into()))
}

/// Refuses the call unless the caller has one of `roles`.
pub fn require_role(identity: &Identity, roles: &[Role], action: &str) -> Result<(), Error> {
    if identity.has_any_role(roles) {
        Ok(())
    } else {
        let names: Vec<String> = roles
            .iter()
            .map(|r| format!("{r:?}").to_lowercase())
            .collect();
        Err(Error::PermissionDenied(format!(
            "{} may not {action}: that needs one of the roles {}",
            identity.actor(),
            names.join(", ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use leadpool_domain::{FieldViolation, QuotaViolation};

    use super::*;

    #[test]
    fn a_huge_input_quoted_back_is_cut_short() {
        let huge = "x".repeat(1 << 20);
        let status = to_status(Error::not_found("lead", huge.clone()));
        assert_eq!(status.code(), Code::NotFound);
        assert!(status.message().chars().count() <= MESSAGE_CHARS + 1);
        let status = to_status(Error::InvalidArgument(
            (0..1000)
                .map(|i| FieldViolation::new(format!("f{i}"), huge.clone()))
                .collect(),
        ));
        let violations = status.get_details_bad_request().unwrap().field_violations;
        assert_eq!(violations.len(), MAX_DETAILS);
        assert!(violations[0].description.chars().count() <= DETAIL_CHARS + 1);
        assert!(
            status.details().len() < 8 * 1024,
            "fits stock clients' metadata limit"
        );
    }

    #[test]
    fn invalid_arguments_carry_every_field_violation() {
        let status = to_status(Error::InvalidArgument(vec![
            FieldViolation::new("score", "is outside 0..=100"),
            FieldViolation::new("contact.email", "is required"),
        ]));
        assert_eq!(status.code(), Code::InvalidArgument);
        let fields: Vec<String> = status
            .get_details_bad_request()
            .unwrap()
            .field_violations
            .into_iter()
            .map(|v| v.field)
            .collect();
        assert_eq!(fields, ["score", "contact.email"]);
        assert!(status.message().contains("score: is outside 0..=100"));
    }

    #[test]
    fn exhausted_quota_says_when_to_retry() {
        let status = to_status(Error::ResourceExhausted {
            message: "daily claim limit reached".into(),
            reason: Reason::DailyClaimLimit,
            violations: vec![QuotaViolation {
                subject: "reps/alice".into(),
                description: "15 of 15 claims used".into(),
            }],
            retry_after: Some(Duration::from_secs(90)),
        });
        assert_eq!(status.code(), Code::ResourceExhausted);
        assert_eq!(
            status.get_details_retry_info().unwrap().retry_delay,
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            status.get_details_quota_failure().unwrap().violations[0].subject,
            "reps/alice"
        );
        assert_eq!(
            status.get_details_error_info().unwrap().reason,
            "DAILY_CLAIM_LIMIT"
        );
    }

    #[test]
    fn preconditions_carry_a_machine_readable_kind() {
        let status = to_status(Error::precondition(
            Reason::LeadNotAvailable,
            "leads/x",
            "already claimed",
        ));
        assert_eq!(status.code(), Code::FailedPrecondition);
        let failure = status.get_details_precondition_failure().unwrap();
        assert_eq!(failure.violations[0].r#type, "LEAD_NOT_AVAILABLE");
        assert_eq!(failure.violations[0].subject, "leads/x");
    }

    #[test]
    fn every_reason_is_listed_in_the_api_and_nothing_else() {
        use leadpool_proto::v1::ErrorReason;
        for reason in Reason::ALL {
            assert!(
                ErrorReason::from_str_name(reason.as_str()).is_some(),
                "{reason} is missing from error_reason.proto"
            );
        }
        let listed = (1..100)
            .filter_map(|n| ErrorReason::try_from(n).ok())
            .filter(|r| *r != ErrorReason::Unspecified)
            .count();
        assert_eq!(
            listed,
            Reason::ALL.len(),
            "error_reason.proto lists reasons the code never gives"
        );
    }

    #[test]
    fn internal_errors_do_not_leak_their_cause() {
        let status = to_status(Error::internal("password authentication failed for user x"));
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("password"));
    }
}
