//! Whether an object the API server returned is ready, and if not, why: per-kind rules in the
//! spirit of kstatus (`sigs.k8s.io/cli-utils/pkg/kstatus/status/core.go`), as pure functions over
//! the object's JSON.
//!
//! Every object is first judged on what all kinds share: one being deleted is in progress, and
//! one whose `status.observedGeneration` is behind `metadata.generation` has not been seen by its
//! controller yet, so its status says nothing about the current spec. Then the kind's rule runs;
//! kinds without one (custom resources included) are judged by their `status.conditions`.

use std::fmt;

use serde_json::Value;

/// How ready an object is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// Ready: what the spec asks for is in place.
    Current,
    /// Not ready yet, and nothing says it will not be; the reason says what it waits for.
    InProgress(String),
    /// Not ready, and it will not become so without a change (a stalled rollout, an image that
    /// cannot be pulled, a failed Job). Callers may still wait: some causes pass on their own.
    Failed(String),
}

impl Health {
    pub fn is_current(&self) -> bool {
        matches!(self, Health::Current)
    }
}

impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Health::Current => write!(f, "current"),
            Health::InProgress(reason) => write!(f, "in progress: {reason}"),
            Health::Failed(reason) => write!(f, "failed: {reason}"),
        }
    }
}

/// The health of one object, as the API server returned it.
pub fn health(obj: &Value) -> Health {
    if obj.pointer("/metadata/deletionTimestamp").is_some() {
        return Health::InProgress("being deleted".to_owned());
    }
    if let Some(stale) = generation_not_observed(obj) {
        return stale;
    }
    let api_version = str_at(obj, "/apiVersion");
    let group = api_version.split_once('/').map_or("", |(g, _)| g);
    match (group, str_at(obj, "/kind")) {
        ("apps", "Deployment") => deployment(obj),
        ("apps", "StatefulSet") => stateful_set(obj),
        ("apps", "DaemonSet") => daemon_set(obj),
        ("apps", "ReplicaSet") => replica_set(obj),
        ("batch", "Job") => job(obj),
        ("", "Pod") => pod(obj),
        ("", "PersistentVolumeClaim") => persistent_volume_claim(obj),
        ("", "Service") => service(obj),
        ("", "Namespace") => namespace(obj),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => custom_resource_definition(obj),
        ("apiregistration.k8s.io", "APIService") => api_service(obj),
        _ => by_conditions(obj),
    }
}

fn str_at<'a>(obj: &'a Value, pointer: &str) -> &'a str {
    obj.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

fn int_at(obj: &Value, pointer: &str) -> Option<i64> {
    obj.pointer(pointer).and_then(Value::as_i64)
}

/// A status count, absent meaning zero (the API omits zero counts).
fn count(obj: &Value, field: &str) -> i64 {
    int_at(obj, &format!("/status/{field}")).unwrap_or(0)
}

/// `spec.replicas`, which defaults to 1.
fn spec_replicas(obj: &Value) -> i64 {
    int_at(obj, "/spec/replicas").unwrap_or(1)
}

fn condition<'a>(obj: &'a Value, kind: &str) -> Option<&'a Value> {
    obj.pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(kind))
}

fn condition_is(obj: &Value, kind: &str, status: &str) -> bool {
    condition(obj, kind).is_some_and(|c| str_at(c, "/status") == status)
}

/// `reason: message` of a condition, or whichever of the two it has.
fn explain(c: &Value) -> String {
    match (str_at(c, "/reason"), str_at(c, "/message")) {
        ("", "") => format!("{} is {}", str_at(c, "/type"), str_at(c, "/status")),
        (reason, "") => reason.to_owned(),
        ("", message) => message.to_owned(),
        (reason, message) => format!("{reason}: {message}"),
    }
}

fn generation_not_observed(obj: &Value) -> Option<Health> {
    let generation = int_at(obj, "/metadata/generation")?;
    let observed = int_at(obj, "/status/observedGeneration")?;
    (observed < generation).then(|| {
        Health::InProgress(format!(
            "its controller has not yet seen generation {generation} (last seen: {observed})"
        ))
    })
}

fn in_progress(reason: String) -> Health {
    Health::InProgress(reason)
}

/// In progress while a count is short of what is wanted: "`have` of `want` `what`".
fn short(have: i64, want: i64, what: &str) -> Option<Health> {
    (want > have).then(|| in_progress(format!("{have} of {want} {what}")))
}

/// In progress while there are more replicas than `than`: the rest are still terminating.
fn terminating(replicas: i64, than: i64, which: &str) -> Option<Health> {
    (replicas > than).then(|| {
        in_progress(format!(
            "{} {which} replicas still terminating",
            replicas - than
        ))
    })
}

fn deployment(obj: &Value) -> Health {
    if let Some(c) = condition(obj, "Progressing")
        && str_at(c, "/reason") == "ProgressDeadlineExceeded"
    {
        return Health::Failed(format!("the rollout stalled: {}", explain(c)));
    }
    let spec = spec_replicas(obj);
    let replicas = count(obj, "replicas");
    let updated = count(obj, "updatedReplicas");
    let available = count(obj, "availableReplicas");
    let ready = count(obj, "readyReplicas");
    let waiting = short(replicas, spec, "replicas created")
        .or_else(|| short(updated, spec, "replicas updated"))
        .or_else(|| terminating(replicas, updated, "old"))
        .or_else(|| {
            (updated > available)
                .then(|| in_progress(format!("{available} of {spec} replicas available")))
        })
        .or_else(|| short(ready, spec, "replicas ready"));
    if let Some(waiting) = waiting {
        return waiting;
    }
    let rolled_out = condition(obj, "Progressing").is_some_and(|c| {
        str_at(c, "/status") == "True" && str_at(c, "/reason") == "NewReplicaSetAvailable"
    });
    if !rolled_out {
        return in_progress("the new ReplicaSet is not available yet".to_owned());
    }
    if !condition_is(obj, "Available", "True") {
        return in_progress(match condition(obj, "Available") {
            Some(c) => format!("not available: {}", explain(c)),
            None => "not available yet".to_owned(),
        });
    }
    Health::Current
}

fn stateful_set(obj: &Value) -> Health {
    // kstatus: with OnDelete, pods change only when someone deletes them; nothing to wait for.
    if str_at(obj, "/spec/updateStrategy/type") == "OnDelete" {
        return Health::Current;
    }
    let spec = spec_replicas(obj);
    let replicas = count(obj, "replicas");
    let ready = count(obj, "readyReplicas");
    let updated = count(obj, "updatedReplicas");
    let waiting = short(replicas, spec, "replicas created")
        .or_else(|| short(ready, spec, "replicas ready"))
        .or_else(|| terminating(replicas, spec, "extra"));
    if let Some(waiting) = waiting {
        return waiting;
    }
    if let Some(partition) = int_at(obj, "/spec/updateStrategy/rollingUpdate/partition")
        && partition > 0
    {
        // Only the ordinals at or above the partition are updated.
        let expected = (spec - partition).max(0);
        let what = format!("replicas above partition {partition} updated");
        return short(updated, expected, &what).unwrap_or(Health::Current);
    }
    let current = count(obj, "currentReplicas");
    if let Some(waiting) = short(current, spec, "replicas at the current revision") {
        return waiting;
    }
    let (current_rev, update_rev) = (
        str_at(obj, "/status/currentRevision"),
        str_at(obj, "/status/updateRevision"),
    );
    if current_rev != update_rev {
        return in_progress(format!(
            "rolling out revision {update_rev} (pods are at {current_rev})"
        ));
    }
    Health::Current
}

fn daemon_set(obj: &Value) -> Health {
    let Some(desired) = int_at(obj, "/status/desiredNumberScheduled") else {
        return in_progress("its controller has not counted the nodes to run on yet".to_owned());
    };
    [
        ("currentNumberScheduled", "pods scheduled"),
        ("updatedNumberScheduled", "pods updated"),
        ("numberAvailable", "pods available"),
        ("numberReady", "pods ready"),
    ]
    .into_iter()
    .find_map(|(field, what)| short(count(obj, field), desired, what))
    .unwrap_or(Health::Current)
}

fn replica_set(obj: &Value) -> Health {
    if let Some(c) = condition(obj, "ReplicaFailure")
        && str_at(c, "/status") == "True"
    {
        // kstatus keeps this in progress: quota or admission may let the pods in later.
        return in_progress(format!("cannot create pods: {}", explain(c)));
    }
    let spec = spec_replicas(obj);
    [
        ("fullyLabeledReplicas", "replicas labelled"),
        ("availableReplicas", "replicas available"),
        ("readyReplicas", "replicas ready"),
    ]
    .into_iter()
    .find_map(|(field, what)| short(count(obj, field), spec, what))
    .or_else(|| terminating(count(obj, "replicas"), spec, "extra"))
    .unwrap_or(Health::Current)
}

fn job(obj: &Value) -> Health {
    if condition_is(obj, "Failed", "True") {
        let failed = count(obj, "failed");
        let reason = condition(obj, "Failed").map(explain).unwrap_or_default();
        return Health::Failed(format!("the job failed ({failed} pods failed): {reason}"));
    }
    if condition_is(obj, "Complete", "True") {
        return Health::Current;
    }
    if obj.pointer("/status/startTime").is_none() {
        return in_progress("the job has not started".to_owned());
    }
    // As kstatus: a started Job is current; waiting for it to finish would block on jobs that
    // are meant to run for long.
    Health::Current
}

/// Waiting reasons that do not pass without a change to the pod, its image or its config.
const FAILED_WAITING: &[&str] = &[
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
];

fn pod(obj: &Value) -> Health {
    match str_at(obj, "/status/phase") {
        "Succeeded" => return Health::Current,
        "Failed" => {
            let why = match (
                str_at(obj, "/status/reason"),
                str_at(obj, "/status/message"),
            ) {
                ("", "") => "the pod failed".to_owned(),
                (reason, "") => format!("the pod failed: {reason}"),
                (_, message) => format!("the pod failed: {message}"),
            };
            return Health::Failed(why);
        }
        _ => {}
    }
    let mut waiting = None;
    for list in ["initContainerStatuses", "containerStatuses"] {
        let statuses = obj
            .pointer(&format!("/status/{list}"))
            .and_then(Value::as_array);
        for status in statuses.into_iter().flatten() {
            let Some(w) = status.pointer("/state/waiting") else {
                continue;
            };
            let name = str_at(status, "/name");
            let reason = str_at(w, "/reason");
            let what = match str_at(w, "/message") {
                "" => format!("container `{name}` is waiting: {reason}"),
                message => format!("container `{name}` is waiting: {reason}: {message}"),
            };
            if FAILED_WAITING.contains(&reason) {
                return Health::Failed(what);
            }
            waiting.get_or_insert(what);
        }
    }
    if condition_is(obj, "Ready", "True") {
        return Health::Current;
    }
    if let Some(c) = condition(obj, "PodScheduled")
        && str_at(c, "/status") == "False"
    {
        return in_progress(format!("not scheduled: {}", explain(c)));
    }
    if let Some(what) = waiting {
        return in_progress(what);
    }
    match str_at(obj, "/status/phase") {
        "" => in_progress("not yet scheduled".to_owned()),
        phase => in_progress(format!("{phase}, not Ready yet")),
    }
}

fn persistent_volume_claim(obj: &Value) -> Health {
    match str_at(obj, "/status/phase") {
        "Bound" => Health::Current,
        "Lost" => Health::Failed("its volume was lost".to_owned()),
        "" => in_progress("not bound to a volume yet".to_owned()),
        phase => in_progress(format!("not bound to a volume yet ({phase})")),
    }
}

fn service(obj: &Value) -> Health {
    if str_at(obj, "/spec/type") != "LoadBalancer" {
        return Health::Current;
    }
    let assigned = obj
        .pointer("/status/loadBalancer/ingress")
        .and_then(Value::as_array)
        .is_some_and(|i| !i.is_empty());
    if assigned {
        Health::Current
    } else {
        in_progress("waiting for a load balancer address".to_owned())
    }
}

fn namespace(obj: &Value) -> Health {
    match str_at(obj, "/status/phase") {
        "Active" => Health::Current,
        "Terminating" => in_progress("the namespace is being deleted".to_owned()),
        _ => in_progress("not active yet".to_owned()),
    }
}

fn custom_resource_definition(obj: &Value) -> Health {
    if let Some(c) = condition(obj, "NamesAccepted")
        && str_at(c, "/status") == "False"
    {
        return Health::Failed(format!("its names were not accepted: {}", explain(c)));
    }
    if !condition_is(obj, "Established", "True") {
        return in_progress(match condition(obj, "Established") {
            Some(c) if str_at(c, "/status") == "False" => {
                format!("not established yet: {}", explain(c))
            }
            _ => "not established yet".to_owned(),
        });
    }
    if !condition_is(obj, "NamesAccepted", "True") {
        return in_progress("its names are not accepted yet".to_owned());
    }
    Health::Current
}

fn api_service(obj: &Value) -> Health {
    match condition(obj, "Available") {
        Some(c) if str_at(c, "/status") == "True" => Health::Current,
        Some(c) => in_progress(format!("not available: {}", explain(c))),
        None => in_progress("not available yet".to_owned()),
    }
}

/// Any other kind, custom resources included: `Stalled` fails, `Reconciling` and a `Ready` that
/// is not `True` (or describes an older generation) are in progress; no conditions, no status,
/// or none of these conditions is current, as kstatus has it.
fn by_conditions(obj: &Value) -> Health {
    if let Some(c) = condition(obj, "Stalled")
        && str_at(c, "/status") == "True"
    {
        return Health::Failed(format!("stalled: {}", explain(c)));
    }
    if let Some(c) = condition(obj, "Reconciling")
        && str_at(c, "/status") == "True"
    {
        return in_progress(format!("reconciling: {}", explain(c)));
    }
    let Some(ready) = condition(obj, "Ready") else {
        return Health::Current;
    };
    if let (Some(generation), Some(seen)) = (
        int_at(obj, "/metadata/generation"),
        int_at(ready, "/observedGeneration"),
    ) && seen < generation
    {
        return in_progress(format!(
            "its Ready condition describes generation {seen}, not the current {generation}"
        ));
    }
    if str_at(ready, "/status") == "True" {
        Health::Current
    } else {
        in_progress(format!("not ready: {}", explain(ready)))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn in_progress_with(h: Health, words: &str) {
        match h {
            Health::InProgress(r) => assert!(r.contains(words), "reason `{r}` lacks `{words}`"),
            other => panic!("expected in progress ({words}), got {other:?}"),
        }
    }

    fn failed_with(h: Health, words: &str) {
        match h {
            Health::Failed(r) => assert!(r.contains(words), "reason `{r}` lacks `{words}`"),
            other => panic!("expected failed ({words}), got {other:?}"),
        }
    }

    /// An object of `kind` at generation 2, with this spec and status.
    fn object(api_version: &str, kind: &str, spec: Value, status: Value) -> Value {
        json!({
            "apiVersion": api_version, "kind": kind,
            "metadata": {"name": "x", "generation": 2},
            "spec": spec, "status": status,
        })
    }

    fn deployment_with(status: Value) -> Value {
        object("apps/v1", "Deployment", json!({"replicas": 2}), status)
    }

    /// A Deployment whose 2 replicas are all created and updated, `ready` of them ready and
    /// available, with these conditions.
    fn deployment_ready(ready: i64, conditions: Value) -> Value {
        deployment_with(json!({
            "observedGeneration": 2, "replicas": 2, "updatedReplicas": 2,
            "readyReplicas": ready, "availableReplicas": ready, "conditions": conditions,
        }))
    }

    #[test]
    fn deployment_rolled_out_is_current() {
        let d = deployment_ready(
            2,
            json!([
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
            ]),
        );
        assert_eq!(health(&d), Health::Current);
    }

    #[test]
    fn deployment_rolling_out_is_in_progress() {
        let d = deployment_ready(
            1,
            json!([{"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated"}]),
        );
        assert_eq!(
            health(&d),
            Health::InProgress("1 of 2 replicas available".to_owned())
        );
        // A status written for the previous spec says nothing about this one.
        let stale = deployment_with(json!({
            "observedGeneration": 1, "replicas": 2, "updatedReplicas": 2,
            "readyReplicas": 2, "availableReplicas": 2,
        }));
        in_progress_with(health(&stale), "not yet seen generation 2");
        // Counts add up but the controller has not reported the rollout done.
        let unconfirmed = deployment_ready(2, json!([]));
        in_progress_with(health(&unconfirmed), "new ReplicaSet");
        let no_status = json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {}});
        in_progress_with(health(&no_status), "0 of 1 replicas created");
    }

    #[test]
    fn deployment_past_its_deadline_failed() {
        let d = deployment_with(json!({
            "observedGeneration": 2, "replicas": 2, "updatedReplicas": 1,
            "conditions": [{
                "type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                "message": "ReplicaSet \"web-5d\" has timed out progressing.",
            }],
        }));
        failed_with(health(&d), "timed out progressing");
    }

    #[test]
    fn stateful_set_rules() {
        let sts = |status| object("apps/v1", "StatefulSet", json!({"replicas": 3}), status);
        let done = sts(json!({
            "observedGeneration": 2, "replicas": 3, "readyReplicas": 3, "currentReplicas": 3,
            "updatedReplicas": 3, "currentRevision": "db-1", "updateRevision": "db-1",
        }));
        assert_eq!(health(&done), Health::Current);
        let starting = sts(json!({"observedGeneration": 2, "replicas": 3, "readyReplicas": 1}));
        assert_eq!(
            health(&starting),
            Health::InProgress("1 of 3 replicas ready".to_owned())
        );
        let rolling = sts(json!({
            "observedGeneration": 2, "replicas": 3, "readyReplicas": 3, "currentReplicas": 3,
            "updatedReplicas": 1, "currentRevision": "db-1", "updateRevision": "db-2",
        }));
        in_progress_with(health(&rolling), "rolling out revision db-2");
        let mut on_delete = rolling.clone();
        on_delete["spec"]["updateStrategy"] = json!({"type": "OnDelete"});
        assert_eq!(health(&on_delete), Health::Current);
    }

    #[test]
    fn daemon_set_rules() {
        let ds = |status| object("apps/v1", "DaemonSet", Value::Null, status);
        let done = ds(json!({
            "desiredNumberScheduled": 2, "currentNumberScheduled": 2,
            "updatedNumberScheduled": 2, "numberAvailable": 2, "numberReady": 2,
        }));
        assert_eq!(health(&done), Health::Current);
        let partial = ds(json!({
            "desiredNumberScheduled": 2, "currentNumberScheduled": 2,
            "updatedNumberScheduled": 2, "numberAvailable": 1, "numberReady": 1,
        }));
        assert_eq!(
            health(&partial),
            Health::InProgress("1 of 2 pods available".to_owned())
        );
        in_progress_with(health(&ds(json!({}))), "not counted the nodes");
    }

    #[test]
    fn replica_set_rules() {
        let rs = |status| object("apps/v1", "ReplicaSet", json!({"replicas": 2}), status);
        let done = rs(json!({"replicas": 2, "fullyLabeledReplicas": 2,
                             "availableReplicas": 2, "readyReplicas": 2}));
        assert_eq!(health(&done), Health::Current);
        let quota = rs(json!({"replicas": 0, "conditions": [{
            "type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
            "message": "pods \"web-5d-x\" is forbidden: exceeded quota",
        }]}));
        in_progress_with(health(&quota), "cannot create pods: FailedCreate: pods");
    }

    #[test]
    fn job_rules() {
        let job = |status| object("batch/v1", "Job", Value::Null, status);
        let complete = job(json!({"succeeded": 1, "startTime": "2025-01-01T00:00:00Z",
            "conditions": [{"type": "Complete", "status": "True"}]}));
        assert_eq!(health(&complete), Health::Current);
        in_progress_with(health(&job(json!({}))), "has not started");
        let failed = job(json!({"failed": 6, "startTime": "2025-01-01T00:00:00Z",
            "conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                            "message": "Job has reached the specified backoff limit"}]}));
        failed_with(health(&failed), "6 pods failed): BackoffLimitExceeded");
    }

    fn pod_with(status: Value) -> Value {
        object("v1", "Pod", Value::Null, status)
    }

    #[test]
    fn pod_ready_is_current() {
        let p = pod_with(json!({"phase": "Running",
            "conditions": [{"type": "Ready", "status": "True"}]}));
        assert_eq!(health(&p), Health::Current);
        assert_eq!(
            health(&pod_with(json!({"phase": "Succeeded"}))),
            Health::Current
        );
    }

    #[test]
    fn pod_names_the_waiting_container() {
        let pulling = pod_with(json!({"phase": "Pending",
        "conditions": [{"type": "PodScheduled", "status": "True"}],
        "containerStatuses": [{"name": "web", "state": {"waiting": {
            "reason": "ImagePullBackOff",
            "message": "Back-off pulling image \"example.com/web:v9\"",
        }}}]}));
        assert_eq!(
            health(&pulling),
            Health::Failed(
                "container `web` is waiting: ImagePullBackOff: Back-off pulling image \"example.com/web:v9\""
                    .to_owned()
            )
        );
        let creating = pod_with(json!({"phase": "Pending",
            "containerStatuses": [{"name": "web",
                "state": {"waiting": {"reason": "ContainerCreating"}}}]}));
        assert_eq!(
            health(&creating),
            Health::InProgress("container `web` is waiting: ContainerCreating".to_owned())
        );
        let unschedulable = pod_with(json!({"phase": "Pending", "conditions": [{
            "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
            "message": "0/5 nodes are available: 5 Insufficient nvidia.com/gpu.",
        }]}));
        in_progress_with(health(&unschedulable), "not scheduled: Unschedulable: 0/5");
        failed_with(
            health(&pod_with(
                json!({"phase": "Failed", "reason": "Evicted", "message": "low on memory"}),
            )),
            "low on memory",
        );
    }

    #[test]
    fn pvc_rules() {
        let pvc = |phase: &str| {
            let status = json!({"phase": phase});
            object("v1", "PersistentVolumeClaim", Value::Null, status)
        };
        assert_eq!(health(&pvc("Bound")), Health::Current);
        in_progress_with(
            health(&pvc("Pending")),
            "not bound to a volume yet (Pending)",
        );
        failed_with(health(&pvc("Lost")), "lost");
    }

    #[test]
    fn load_balancer_waits_for_an_address() {
        let mut svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "gw"},
            "spec": {"type": "LoadBalancer"}, "status": {"loadBalancer": {}}});
        in_progress_with(health(&svc), "load balancer address");
        svc["status"]["loadBalancer"]["ingress"] = json!([{"ip": "10.0.0.7"}]);
        assert_eq!(health(&svc), Health::Current);
        let cluster_ip = json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web"}, "spec": {"type": "ClusterIP"}});
        assert_eq!(health(&cluster_ip), Health::Current);
    }

    fn crd_with(conditions: Value) -> Value {
        let status = json!({"conditions": conditions});
        object(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            Value::Null,
            status,
        )
    }

    #[test]
    fn crd_rules() {
        let established = crd_with(json!([
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts"},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted"},
        ]));
        assert_eq!(health(&established), Health::Current);
        let pending = crd_with(json!([
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts"},
        ]));
        assert_eq!(
            health(&pending),
            Health::InProgress("not established yet".to_owned())
        );
        let conflict = crd_with(json!([{
            "type": "NamesAccepted", "status": "False", "reason": "ListKindConflict",
            "message": "\"WidgetList\" is already in use",
        }]));
        failed_with(
            health(&conflict),
            "ListKindConflict: \"WidgetList\" is already in use",
        );
    }

    #[test]
    fn api_service_rules() {
        let svc = |cond: Value| {
            let status = json!({"conditions": [cond]});
            object(
                "apiregistration.k8s.io/v1",
                "APIService",
                Value::Null,
                status,
            )
        };
        assert_eq!(
            health(&svc(json!({"type": "Available", "status": "True"}))),
            Health::Current
        );
        let down = svc(json!({"type": "Available", "status": "False",
            "reason": "MissingEndpoints", "message": "endpoints for service/metrics-server have no addresses"}));
        in_progress_with(health(&down), "not available: MissingEndpoints: endpoints");
    }

    #[test]
    fn namespace_rules() {
        let ns = |phase: &str| object("v1", "Namespace", Value::Null, json!({"phase": phase}));
        assert_eq!(health(&ns("Active")), Health::Current);
        in_progress_with(health(&ns("Terminating")), "being deleted");
    }

    #[test]
    fn custom_resource_rules() {
        let cr = |status: Value| {
            json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
                   "metadata": {"name": "serving-cert", "generation": 3}, "status": status})
        };
        let no_status = json!({"apiVersion": "example.com/v1", "kind": "Widget",
                               "metadata": {"name": "w"}});
        assert_eq!(health(&no_status), Health::Current);
        let ready = cr(json!({"conditions": [
            {"type": "Ready", "status": "True", "observedGeneration": 3}]}));
        assert_eq!(health(&ready), Health::Current);
        let issuing = cr(json!({"conditions": [{"type": "Ready", "status": "False",
            "reason": "DoesNotExist", "message": "Issuing certificate as Secret does not exist",
            "observedGeneration": 3}]}));
        assert_eq!(
            health(&issuing),
            Health::InProgress(
                "not ready: DoesNotExist: Issuing certificate as Secret does not exist".to_owned()
            )
        );
        let old = cr(json!({"conditions": [
            {"type": "Ready", "status": "True", "observedGeneration": 2}]}));
        in_progress_with(health(&old), "describes generation 2, not the current 3");
        let stalled = cr(json!({"conditions": [{"type": "Stalled", "status": "True",
            "reason": "InvalidSpec", "message": "issuerRef names no Issuer"}]}));
        failed_with(health(&stalled), "stalled: InvalidSpec");
        let mut deleting = ready.clone();
        deleting["metadata"]["deletionTimestamp"] = json!("2025-01-01T00:00:00Z");
        in_progress_with(health(&deleting), "being deleted");
    }

    #[test]
    fn display_reads_as_a_sentence() {
        assert_eq!(Health::Current.to_string(), "current");
        assert_eq!(
            Health::InProgress("1 of 2 replicas ready".into()).to_string(),
            "in progress: 1 of 2 replicas ready"
        );
    }
}
