//! `leadpool.dev.v1.DevSignInService`: for `make up`'s console, sign in as anyone of the policy
//! in force without an identity provider. Served only when `auth.dev_sign_in` is on (which needs
//! the development secret); see the proto for the contract.

use std::time::Duration;

use leadpool_auth::{Role, TokenIssuer};
use leadpool_domain::Error;
use leadpool_proto::dev::v1 as dev;
use leadpool_proto::dev::v1::dev_sign_in_service_server::DevSignInService;
use leadpool_server::convert::timestamp;
use leadpool_server::to_status;
use leadpool_store::PolicyCache;
use tonic::{Request, Response, Status};

/// How long a development token lasts; the console signs in again before it runs out.
const TOKEN_TTL: Duration = Duration::from_secs(3600);
/// The administrator one may always sign in as.
const ADMIN: &str = "users/ops";

pub struct DevSignIn {
    policy: PolicyCache,
    issuer: TokenIssuer,
}

impl DevSignIn {
    pub fn new(policy: PolicyCache, issuer: TokenIssuer) -> Self {
        Self { policy, issuer }
    }

    /// Every active rep of the policy in force (managers as managers), then the administrator.
    async fn people(&self) -> Result<Vec<(dev::Person, Vec<Role>)>, Error> {
        let current = self.policy.current().await?;
        let mut people: Vec<(dev::Person, Vec<Role>)> = current
            .policy
            .reps
            .values()
            .filter(|rep| rep.active)
            .map(|rep| {
                let role = if rep.role == leadpool_policy::Role::Manager {
                    Role::Manager
                } else {
                    Role::Rep
                };
                let person = dev::Person {
                    subject: rep.id.name(),
                    display_name: if rep.name.is_empty() {
                        rep.id.as_str().to_owned()
                    } else {
                        rep.name.clone()
                    },
                    roles: vec![role_name(role).to_owned()],
                    team: rep.team.clone().unwrap_or_default(),
                };
                (person, vec![role])
            })
            .collect();
        people.push((
            dev::Person {
                subject: ADMIN.to_owned(),
                display_name: "Ops (administrator)".to_owned(),
                roles: vec![role_name(Role::Admin).to_owned()],
                team: String::new(),
            },
            vec![Role::Admin],
        ));
        Ok(people)
    }
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Rep => "rep",
        Role::Manager => "manager",
        Role::Admin => "admin",
        Role::Service => "service",
    }
}

#[tonic::async_trait]
impl DevSignInService for DevSignIn {
    async fn list_people(
        &self,
        _request: Request<dev::ListPeopleRequest>,
    ) -> Result<Response<dev::ListPeopleResponse>, Status> {
        let people = self.people().await.map_err(to_status)?;
        Ok(Response::new(dev::ListPeopleResponse {
            people: people.into_iter().map(|(person, _)| person).collect(),
        }))
    }

    async fn sign_in(
        &self,
        request: Request<dev::SignInRequest>,
    ) -> Result<Response<dev::SignInResponse>, Status> {
        let subject = &request.get_ref().subject;
        let people = self.people().await.map_err(to_status)?;
        let Some((person, roles)) = people.into_iter().find(|(p, _)| &p.subject == subject) else {
            return Err(to_status(Error::not_found("person", subject.clone())));
        };
        let mut claims = self.issuer.claims(&person.subject, &roles, TOKEN_TTL);
        claims.team = (!person.team.is_empty()).then(|| person.team.clone());
        let token = self
            .issuer
            .sign(&claims)
            .map_err(|err| to_status(Error::Internal(err.to_string())))?;
        let expires = chrono::DateTime::from_timestamp(i64::try_from(claims.exp).unwrap_or(0), 0)
            .unwrap_or_default();
        tracing::info!(subject = %person.subject, "development sign-in");
        Ok(Response::new(dev::SignInResponse {
            token,
            expire_time: Some(timestamp(expires)),
            person: Some(person),
        }))
    }
}
