//! The gRPC surface of the scheduler.

use leadpool_auth::Role;
use leadpool_domain::{Error, FieldViolation};
use leadpool_proto::v1::{self, scheduler_service_server::SchedulerService};
use leadpool_server::{caller, convert, paging, require_role, to_status};
use tonic::{Request, Response, Status};

use crate::jobs::Job;
use crate::runner::{Runner, next_slot};

pub struct SchedulerApi {
    runner: Runner,
}

impl SchedulerApi {
    pub fn new(runner: Runner) -> Self {
        Self { runner }
    }

    async fn describe(&self, job: Job) -> Result<v1::Job, Error> {
        let interval = job.interval(&self.runner.config);
        let last = self.runner.store.last_job_run(job.id()).await?;
        Ok(v1::Job {
            name: format!("jobs/{}", job.id()),
            description: job.description().to_owned(),
            interval: Some(prost_duration(interval)),
            last_run_time: last.as_ref().map(|run| convert::timestamp(run.started_at)),
            last_run_affected: last.map_or(0, |run| run.affected),
            next_run_time: self
                .runner
                .config
                .enabled
                .then(|| convert::timestamp(next_slot(self.runner.clock.now(), interval))),
        })
    }
}

fn prost_duration(d: std::time::Duration) -> leadpool_proto::Duration {
    leadpool_proto::Duration {
        seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        nanos: i32::try_from(d.subsec_nanos()).unwrap_or(0),
    }
}

fn parse_job(name: &str) -> Result<Job, FieldViolation> {
    let known = || {
        Job::ALL
            .iter()
            .map(|job| format!("jobs/{}", job.id()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if name.is_empty() {
        return Err(FieldViolation::new(
            "name",
            format!("is required: one of {}", known()),
        ));
    }
    name.strip_prefix("jobs/")
        .and_then(Job::from_id)
        .ok_or_else(|| {
            FieldViolation::new(
                "name",
                format!("`{name}` is not a job; known jobs: {}", known()),
            )
        })
}

#[tonic::async_trait]
impl SchedulerService for SchedulerApi {
    #[tracing::instrument(skip_all, fields(job = %request.get_ref().name))]
    async fn run_job(
        &self,
        request: Request<v1::RunJobRequest>,
    ) -> Result<Response<v1::RunJobResponse>, Status> {
        let result = async {
            let identity = caller(&request)?;
            require_role(&identity, &[Role::Admin, Role::Service], "run jobs")?;
            let req = request.get_ref();
            let job = parse_job(&req.name);
            let as_of = req
                .as_of
                .as_ref()
                .map(|ts| convert::from_timestamp(ts, "as_of"))
                .transpose();
            let (job, as_of) = match (job, as_of) {
                (Ok(job), Ok(as_of)) => (job, as_of.unwrap_or_else(|| self.runner.clock.now())),
                (job, as_of) => {
                    return Err(Error::InvalidArgument(
                        job.err().into_iter().chain(as_of.err()).collect(),
                    ));
                }
            };
            let changed = self.runner.run_manually(job, as_of).await?;
            Ok(v1::RunJobResponse {
                job: Some(self.describe(job).await?),
                affected: changed.len() as i64,
                leads: changed.iter().map(|id| id.name()).collect(),
            })
        }
        .await;
        result.map(Response::new).map_err(to_status)
    }

    async fn list_jobs(
        &self,
        request: Request<v1::ListJobsRequest>,
    ) -> Result<Response<v1::ListJobsResponse>, Status> {
        let result = async {
            caller(&request)?;
            let req = request.get_ref();
            paging::page_size(req.page_size, 100, 100)?;
            if !req.page_token.is_empty() {
                return Err(Error::invalid(
                    "page_token",
                    "ListJobs returns every job in one page; send no token",
                ));
            }
            let mut jobs = Vec::new();
            for job in Job::ALL {
                jobs.push(self.describe(job).await?);
            }
            Ok(v1::ListJobsResponse {
                jobs,
                next_page_token: String::new(),
            })
        }
        .await;
        result.map(Response::new).map_err(to_status)
    }
}
