//! Which failed requests are worth another try, and the retry loop with backoff.

use std::time::Duration;

use tokio::time::Instant;

use super::{ApplyOptions, report::ObjectError};
use crate::cluster::client::{Cluster, Request};

/// The first pause after a transient failure; it doubles up to [`MAX_BACKOFF`].
pub(super) const FIRST_BACKOFF: Duration = Duration::from_millis(250);

pub(super) const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// A connection error is retried this many times: a server that stays unreachable is named
/// rather than waited on until the deadline.
pub(super) const CONNECTION_ATTEMPTS: u32 = 6;

/// A failed request, classified for the retry loop.
pub(super) enum Failure {
    /// Worth another try; the text says what failed, the flag whether the connection did.
    Transient(String, bool),
    Fatal(ObjectError),
}

/// Whether a failed request can pass on its own, and how to report it if not.
pub(super) fn classify(cluster: &Cluster, err: kube::Error, request: &Request) -> Failure {
    match err {
        kube::Error::Api(status) => {
            let status = *status;
            let conflict_causes: Vec<String> = status
                .details
                .as_ref()
                .map(|d| {
                    d.causes
                        .iter()
                        .filter(|c| c.reason == "FieldManagerConflict")
                        .map(|c| c.message.clone())
                        .collect()
                })
                .unwrap_or_default();
            if status.code == 409 && !conflict_causes.is_empty() {
                let mut managers: Vec<String> = conflict_causes
                    .iter()
                    .filter_map(|m| manager_of(m))
                    .collect();
                managers.sort();
                managers.dedup();
                return Failure::Fatal(ObjectError::Conflict {
                    managers,
                    message: status.message,
                });
            }
            if status.code == 422
                && let Some(fields) = immutable_fields(&status)
            {
                return Failure::Fatal(ObjectError::Immutable {
                    fields,
                    message: status.message,
                });
            }
            let webhook_down = crate::cluster::admission::webhook_call_failed(&status.message)
                && !matches!(status.code, 400 | 422);
            let transient = matches!(status.code, 409 | 429 | 500..=599) || webhook_down;
            if transient {
                return Failure::Transient(
                    format!("{} ({} {})", status.message, status.code, status.reason),
                    false,
                );
            }
            match status.code {
                401 | 403 => Failure::Fatal(ObjectError::Cluster(
                    cluster.error(kube::Error::Api(Box::new(status)), request.clone()),
                )),
                code => Failure::Fatal(ObjectError::Refused {
                    code,
                    reason: status.reason,
                    message: status.message,
                }),
            }
        }
        err @ (kube::Error::HyperError(_) | kube::Error::Service(_)) => {
            Failure::Transient(err.to_string(), true)
        }
        err => Failure::Fatal(ObjectError::Cluster(cluster.error(err, request.clone()))),
    }
}

/// Messages of the API server's validation for a field that cannot change once set.
pub(super) const IMMUTABLE: &[&str] = &["field is immutable", "may not change once set"];

/// The fields a 422 refuses to change, when that is why it refused; `None` for other
/// validation errors.
pub(super) fn immutable_fields(status: &kube::core::Status) -> Option<Vec<String>> {
    let causes = status.details.as_ref().map(|d| d.causes.as_slice());
    let mut fields: Vec<String> = causes
        .into_iter()
        .flatten()
        .filter(|c| IMMUTABLE.iter().any(|m| c.message.contains(m)))
        .map(|c| c.field.clone())
        .filter(|f| !f.is_empty())
        .collect();
    if fields.is_empty() && !IMMUTABLE.iter().any(|m| status.message.contains(m)) {
        return None;
    }
    fields.dedup();
    Some(fields)
}

/// `conflict with "kubectl-client-side-apply" using v1` → the manager's name.
pub(super) fn manager_of(message: &str) -> Option<String> {
    let rest = message.split_once("conflict with \"")?.1;
    Some(rest.split_once('"')?.0.to_owned())
}

/// Runs `call` until it succeeds, fails for good, or transient failures outlast the deadline.
pub(super) async fn with_retries<T, F, Fut>(
    cluster: &Cluster,
    request: &Request,
    options: &ApplyOptions,
    retries: &mut u32,
    mut call: F,
) -> Result<T, ObjectError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, kube::Error>>,
{
    let mut backoff = FIRST_BACKOFF;
    let mut connection_failures = 0;
    loop {
        let err = match call().await {
            Ok(value) => return Ok(value),
            Err(err) => err,
        };
        match classify(cluster, err, request) {
            Failure::Fatal(e) => return Err(e),
            Failure::Transient(last, connection) => {
                connection_failures += u32::from(connection);
                let attempts = *retries + 1;
                if connection_failures >= CONNECTION_ATTEMPTS
                    || Instant::now() + backoff > options.deadline
                {
                    return Err(ObjectError::GaveUp {
                        attempts,
                        timeout: options.timeout,
                        last,
                    });
                }
                tracing::debug!(target = %request.target, %last, "retrying");
                *retries += 1;
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}
