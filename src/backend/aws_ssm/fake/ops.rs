//! The fake SSM's operations: one handler per `AmazonSSM.<Operation>`, reading the
//! JSON 1.1 request members and answering AWS's documented response shapes, with
//! `NextToken`/`MaxResults` paging (page size overridable per operation).

use serde_json::{Map, Value, json};

use super::fleet::{CommandRequest, FakeCommand, FakeFleet, FakeInstance, FakeInvocation};

/// An error answer: HTTP status, `__type` and `message`.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeError {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl FakeError {
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> FakeError {
        FakeError {
            status,
            code: code.into(),
            message: message.into(),
        }
    }
    fn client(code: &str, message: impl Into<String>) -> FakeError {
        FakeError::new(400, code, message)
    }
}

/// The operations the fake answers.
pub const OPERATIONS: [&str; 10] = [
    "DescribeInstanceInformation",
    "DescribeInstancePatchStates",
    "DescribeInstancePatches",
    "DescribePatchGroups",
    "SendCommand",
    "ListCommands",
    "ListCommandInvocations",
    "CancelCommand",
    "DescribeMaintenanceWindows",
    "DescribeMaintenanceWindowTargets",
];

/// Runs `operation` on `fleet`. `page_size` overrides the page size the caller asked.
pub fn dispatch(
    fleet: &mut FakeFleet,
    operation: &str,
    input: &Value,
    page_size: Option<usize>,
) -> Result<Value, FakeError> {
    let paging = |range: (usize, usize), default: usize| {
        Paging::read(operation, input, range, default, page_size)
    };
    match operation {
        "DescribeInstanceInformation" => {
            let paging = paging((5, 50), 50)?;
            describe_instance_information(fleet, input, paging)
        }
        "DescribeInstancePatchStates" => {
            let paging = paging((10, 100), 100)?;
            describe_instance_patch_states(fleet, input, paging)
        }
        "DescribeInstancePatches" => {
            let paging = paging((10, 100), 100)?;
            describe_instance_patches(fleet, input, paging)
        }
        "DescribePatchGroups" => {
            let paging = paging((1, 100), 100)?;
            let items = fleet.patch_groups.iter().map(|g| {
                json!({"PatchGroup": g.name, "BaselineIdentity": {
                    "BaselineId": g.baseline_id, "BaselineName": g.baseline_name,
                    "OperatingSystem": g.operating_system, "DefaultBaseline": false}})
            });
            Ok(paging.answer("Mappings", items.collect()))
        }
        "SendCommand" => send_command(fleet, input),
        "ListCommands" => {
            let paging = paging((1, 50), 50)?;
            list_commands(fleet, input, paging)
        }
        "ListCommandInvocations" => {
            let paging = paging((1, 50), 50)?;
            list_command_invocations(fleet, input, paging)
        }
        "CancelCommand" => {
            let id = required_str(input, "CommandId")?;
            if fleet.cancel_command(id) {
                Ok(json!({}))
            } else {
                Err(FakeError::client("InvalidCommandId", ""))
            }
        }
        "DescribeMaintenanceWindows" => {
            let paging = paging((10, 100), 100)?;
            let items = super::windows::describe_windows(fleet, &filters(input, "Key", "Values"));
            Ok(paging.answer("WindowIdentities", items))
        }
        "DescribeMaintenanceWindowTargets" => {
            let paging = paging((10, 100), 100)?;
            let id = required_str(input, "WindowId")?;
            let items = super::windows::describe_window_targets(fleet, id)?;
            Ok(paging.answer("Targets", items))
        }
        other => Err(FakeError::client(
            "UnknownOperationException",
            format!("the fake SSM does not implement {other}"),
        )),
    }
}

/// A request's page: the offset its `NextToken` names and how many items to answer.
struct Paging {
    operation: String,
    offset: usize,
    size: usize,
}

impl Paging {
    fn read(
        operation: &str,
        input: &Value,
        (min, max): (usize, usize),
        default: usize,
        page_size: Option<usize>,
    ) -> Result<Paging, FakeError> {
        let asked = input.get("MaxResults").and_then(Value::as_u64);
        if let Some(asked) = asked
            && !(min as u64..=max as u64).contains(&asked)
        {
            return Err(FakeError::client(
                "ValidationException",
                format!(
                    "1 validation error detected: Value '{asked}' at 'maxResults' failed to \
                     satisfy constraint: Member must have value between {min} and {max}"
                ),
            ));
        }
        let offset = match input.get("NextToken").and_then(Value::as_str) {
            None => 0,
            Some(token) => token
                .strip_prefix(&format!("fake-{operation}-"))
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| {
                    FakeError::client("InvalidNextToken", "The specified token is not valid.")
                })?,
        };
        let size = page_size
            .unwrap_or(asked.map_or(default, |n| n as usize))
            .max(1);
        Ok(Paging {
            operation: operation.into(),
            offset,
            size,
        })
    }

    /// `{"<key>": [this page], "NextToken": ...}`.
    fn answer(&self, key: &str, items: Vec<Value>) -> Value {
        let end = (self.offset + self.size).min(items.len());
        let page: Vec<Value> = items.get(self.offset..end).unwrap_or_default().to_vec();
        let mut out = Map::new();
        out.insert(key.into(), Value::Array(page));
        if end < items.len() {
            let token = format!("fake-{}-{end}", self.operation);
            out.insert("NextToken".into(), Value::String(token));
        }
        Value::Object(out)
    }
}

fn required_str<'a>(input: &'a Value, key: &str) -> Result<&'a str, FakeError> {
    input.get(key).and_then(Value::as_str).ok_or_else(|| {
        FakeError::client(
            "ValidationException",
            format!("1 validation error detected: Value null at '{key}' failed to satisfy constraint: Member must not be null"),
        )
    })
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// `[{"Key": k, "Values": [..]}]` (or lower-case `key`/`value` for command filters).
fn filters(input: &Value, key: &str, value: &str) -> Vec<(String, Vec<String>)> {
    let Some(list) = input.get("Filters").and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|f| {
            let k = f.get(key)?.as_str()?.to_string();
            let v = f.get(value)?;
            let values = match v.as_str() {
                Some(one) => vec![one.to_string()],
                None => strings(Some(v)),
            };
            Some((k, values))
        })
        .collect()
}

fn instance_matches(instance: &FakeInstance, key: &str, values: &[String]) -> bool {
    match key {
        "InstanceIds" => values.contains(&instance.id),
        "PingStatus" => values.contains(&instance.ping),
        "PlatformTypes" => values.contains(&instance.platform_type),
        "ResourceType" => values.contains(&instance.resource_type),
        "tag:Patch Group" | "tag:PatchGroup" => instance
            .patch_group
            .as_ref()
            .is_some_and(|g| values.contains(g)),
        _ => true,
    }
}

fn describe_instance_information(
    fleet: &FakeFleet,
    input: &Value,
    paging: Paging,
) -> Result<Value, FakeError> {
    let filters = filters(input, "Key", "Values");
    let items = fleet
        .instances
        .iter()
        .filter(|i| filters.iter().all(|(k, v)| instance_matches(i, k, v)))
        .map(|i| {
            let source_type = if i.resource_type == "EC2Instance" {
                "AWS::EC2::Instance"
            } else {
                "AWS::SSM::ManagedInstance"
            };
            json!({
                "InstanceId": i.id, "PingStatus": i.ping, "LastPingDateTime": i.last_ping,
                "AgentVersion": "3.3.1142.0", "IsLatestVersion": false,
                "PlatformType": i.platform_type, "PlatformName": i.platform_name,
                "PlatformVersion": i.platform_version, "ResourceType": i.resource_type,
                "IPAddress": i.ip, "ComputerName": i.computer_name,
                "AssociationStatus": "Success", "SourceId": i.id, "SourceType": source_type,
            })
        })
        .collect();
    Ok(paging.answer("InstanceInformationList", items))
}

fn describe_instance_patch_states(
    fleet: &FakeFleet,
    input: &Value,
    paging: Paging,
) -> Result<Value, FakeError> {
    let ids = strings(input.get("InstanceIds"));
    if ids.is_empty() || ids.len() > 50 {
        return Err(FakeError::client(
            "ValidationException",
            "InstanceIds must hold 1 to 50 instance ids",
        ));
    }
    let items = ids
        .iter()
        .filter_map(|id| fleet.instances.iter().find(|i| &i.id == id))
        .filter_map(|i| {
            let state = i.patch_state.as_ref()?;
            let c = i.counts();
            Some(json!({
                "InstanceId": i.id, "PatchGroup": i.patch_group.clone().unwrap_or_default(),
                "BaselineId": state.baseline_id, "InstalledCount": c.installed,
                "InstalledOtherCount": state.installed_other,
                "InstalledPendingRebootCount": c.installed_pending_reboot,
                "InstalledRejectedCount": c.installed_rejected, "MissingCount": c.missing,
                "FailedCount": c.failed, "UnreportedNotApplicableCount": 0,
                "NotApplicableCount": state.not_applicable,
                "AvailableSecurityUpdateCount": c.available_security_update,
                "OperationStartTime": state.operation_start,
                "OperationEndTime": state.operation_end, "Operation": state.operation,
                "RebootOption": "RebootIfNeeded",
                "CriticalNonCompliantCount": c.missing + c.failed,
                "SecurityNonCompliantCount": c.missing + c.failed, "OtherNonCompliantCount": 0,
            }))
        })
        .collect();
    Ok(paging.answer("InstancePatchStates", items))
}

fn describe_instance_patches(
    fleet: &FakeFleet,
    input: &Value,
    paging: Paging,
) -> Result<Value, FakeError> {
    let id = required_str(input, "InstanceId")?;
    let instance = fleet
        .instances
        .iter()
        .find(|i| i.id == id)
        .ok_or_else(|| FakeError::client("InvalidInstanceId", ""))?;
    let filters = filters(input, "Key", "Values");
    // The documentation's sample State values are CamelCase, the output is upper-snake.
    let squash = |s: &str| s.replace('_', "").to_ascii_lowercase();
    let items = instance
        .patches
        .iter()
        .filter(|p| {
            filters.iter().all(|(k, values)| match k.as_str() {
                "State" => values.iter().any(|v| squash(v) == squash(&p.state)),
                "KBId" => values.contains(&p.kb),
                "Severity" => values.contains(&p.severity),
                "Classification" => values.contains(&p.classification),
                _ => true,
            })
        })
        .map(|p| {
            json!({"Title": p.title, "KBId": p.kb, "Classification": p.classification,
                "Severity": p.severity, "State": p.state, "InstalledTime": p.installed_time,
                "CVEIds": p.cves.join(",")})
        })
        .collect();
    Ok(paging.answer("Patches", items))
}

fn pairs(value: Option<&Value>) -> Vec<(String, Vec<String>)> {
    match value {
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| (k.clone(), strings(Some(v))))
            .collect(),
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(|t| {
                Some((
                    t.get("Key")?.as_str()?.to_string(),
                    strings(t.get("Values")),
                ))
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn send_command(fleet: &mut FakeFleet, input: &Value) -> Result<Value, FakeError> {
    let document = required_str(input, "DocumentName")?.to_string();
    let instance_ids = strings(input.get("InstanceIds"));
    let targets = pairs(input.get("Targets"));
    if instance_ids.len() > 50 || targets.len() > 5 {
        return Err(FakeError::client(
            "ValidationException",
            "at most 50 InstanceIds and 5 Targets",
        ));
    }
    let text = |key: &str| input.get(key).and_then(Value::as_str).map(String::from);
    let id = fleet.send_command(CommandRequest {
        document,
        comment: text("Comment").unwrap_or_default(),
        parameters: pairs(input.get("Parameters")),
        instance_ids,
        targets,
        max_concurrency: text("MaxConcurrency"),
        max_errors: text("MaxErrors"),
        timeout_seconds: input
            .get("TimeoutSeconds")
            .and_then(Value::as_i64)
            .map(|n| n as i32),
    });
    let command = fleet.command(&id).expect("just sent");
    // A real SendCommand answers counts of 0; ListCommands has the right ones.
    Ok(json!({"Command": command_json(command, false)}))
}

fn command_json(c: &FakeCommand, counted: bool) -> Value {
    let count = |n: i32| if counted { n } else { 0 };
    let parameters: Map<String, Value> = c
        .parameters
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    let targets: Vec<Value> = c
        .targets
        .iter()
        .map(|(k, v)| json!({"Key": k, "Values": v}))
        .collect();
    json!({
        "CommandId": c.id, "DocumentName": c.document, "DocumentVersion": "$DEFAULT",
        "Comment": c.comment, "ExpiresAfter": c.expires_after, "Parameters": parameters,
        "InstanceIds": c.instance_ids, "Targets": targets, "RequestedDateTime": c.requested,
        "Status": c.status, "StatusDetails": c.status_details,
        "MaxConcurrency": c.max_concurrency, "MaxErrors": c.max_errors,
        "TargetCount": count(c.target_count()), "CompletedCount": count(c.completed_count()),
        "ErrorCount": count(c.error_count()),
        "DeliveryTimedOutCount": count(c.delivery_timed_out_count()),
        "TimeoutSeconds": c.timeout_seconds,
    })
}

fn list_commands(fleet: &FakeFleet, input: &Value, paging: Paging) -> Result<Value, FakeError> {
    let wanted = input.get("CommandId").and_then(Value::as_str);
    if let Some(id) = wanted
        && fleet.command(id).is_none()
    {
        return Err(FakeError::client("InvalidCommandId", ""));
    }
    let filters = filters(input, "key", "value");
    let items = fleet
        .commands
        .iter()
        .filter(|c| wanted.is_none_or(|id| c.id == id))
        .filter(|c| {
            filters.iter().all(|(k, v)| match k.as_str() {
                "DocumentName" => v.contains(&c.document),
                "Status" => v.contains(&c.status),
                "ExecutionStage" => v.iter().all(|s| (s == "Complete") == c.is_terminal()),
                _ => true,
            })
        })
        .map(|c| command_json(c, true))
        .collect();
    Ok(paging.answer("Commands", items))
}

fn invocation_json(c: &FakeCommand, i: &FakeInvocation, details: bool) -> Value {
    let mut value = json!({
        "CommandId": c.id, "InstanceId": i.instance_id, "InstanceName": i.instance_name,
        "Comment": c.comment, "DocumentName": c.document, "DocumentVersion": "$DEFAULT",
        "RequestedDateTime": c.requested, "Status": i.status, "StatusDetails": i.status_details,
        "TraceOutput": "", "CommandPlugins": [],
    });
    if details {
        let p = &i.plugin;
        let mut plugin = json!({"Name": p.name, "Status": p.status, "StatusDetails": p.status_details,
            "ResponseCode": p.response_code, "Output": p.output});
        if let Some(start) = p.start {
            plugin["ResponseStartDateTime"] = json!(start);
        }
        if let Some(finish) = p.finish {
            plugin["ResponseFinishDateTime"] = json!(finish);
        }
        value["CommandPlugins"] = json!([plugin]);
    }
    value
}

fn list_command_invocations(
    fleet: &FakeFleet,
    input: &Value,
    paging: Paging,
) -> Result<Value, FakeError> {
    let wanted = input.get("CommandId").and_then(Value::as_str);
    let instance = input.get("InstanceId").and_then(Value::as_str);
    let details = input
        .get("Details")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if let Some(id) = wanted
        && fleet.command(id).is_none()
    {
        return Err(FakeError::client("InvalidCommandId", ""));
    }
    let items = fleet
        .commands
        .iter()
        .filter(|c| wanted.is_none_or(|id| c.id == id))
        .flat_map(|c| c.invocations.iter().map(move |i| (c, i)))
        .filter(|(_, i)| instance.is_none_or(|id| i.instance_id == id))
        .map(|(c, i)| invocation_json(c, i, details))
        .collect();
    Ok(paging.answer("CommandInvocations", items))
}
