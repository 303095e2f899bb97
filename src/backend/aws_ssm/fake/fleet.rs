//! The fake SSM's fleet: managed instances, patch groups, patch states and patches,
//! Run Command commands and their invocations. Stepped explicitly by its owner (no
//! timers): `advance` moves the clock, `step` moves every command one stage.
//!
//! Times are epoch seconds (as the JSON 1.1 wire carries them). Behaviour follows the
//! documented semantics of Run Command: MaxConcurrency bounds invocations in progress,
//! an invocation that fails counts against MaxErrors and, past it, the invocations not
//! yet started end `Terminated`; an instance that does not answer ends `Undeliverable`,
//! which does not count against MaxErrors.

/// What an `AWS-RunPatchBaseline` Install does on one instance.
#[derive(Debug, Clone, PartialEq)]
pub enum InstallOutcome {
    /// Every missing patch installs.
    Succeed,
    /// Installs, but needs a reboot the document was told not to do.
    PendingReboot,
    /// The patch `kb` fails; `output` is what the plugin prints (e.g. with an HRESULT).
    Fail {
        kb: String,
        response_code: i32,
        output: String,
    },
    /// Runs past the command's timeout.
    TimeOut,
}

/// One row of `DescribeInstancePatches`.
#[derive(Debug, Clone, PartialEq)]
pub struct FakePatch {
    pub kb: String,
    pub title: String,
    pub classification: String,
    pub severity: String,
    /// A `PatchComplianceDataState` wire value, e.g. "MISSING".
    pub state: String,
    pub installed_time: f64,
    pub cves: Vec<String>,
}

/// The last patch operation's counts, as `DescribeInstancePatchStates` reports them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FakePatchState {
    pub baseline_id: String,
    pub operation: String,
    pub operation_start: f64,
    pub operation_end: f64,
    pub installed_other: i32,
    pub not_applicable: i32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FakeInstance {
    pub id: String,
    pub computer_name: String,
    /// `PingStatus` wire value: Online, ConnectionLost, Inactive.
    pub ping: String,
    pub last_ping: f64,
    /// `PlatformType` wire value: Windows, Linux, MacOS.
    pub platform_type: String,
    pub platform_name: String,
    pub platform_version: String,
    /// `ResourceType`: EC2Instance or ManagedInstance.
    pub resource_type: String,
    pub ip: String,
    /// The `Patch Group` tag.
    pub patch_group: Option<String>,
    pub patch_state: Option<FakePatchState>,
    pub patches: Vec<FakePatch>,
    pub outcome: InstallOutcome,
}

impl FakeInstance {
    /// An online Windows EC2 instance in `group` with one missing patch `kb`.
    pub fn windows(id: &str, name: &str, group: &str, kb: &str) -> FakeInstance {
        FakeInstance {
            id: id.into(),
            computer_name: name.into(),
            ping: "Online".into(),
            last_ping: 0.0,
            platform_type: "Windows".into(),
            platform_name: "Microsoft Windows Server 2022 Datacenter".into(),
            platform_version: "10.0.20348".into(),
            resource_type: "EC2Instance".into(),
            ip: "10.0.1.10".into(),
            patch_group: Some(group.into()),
            patch_state: Some(FakePatchState {
                baseline_id: "pb-0c10e65780example".into(),
                operation: "Scan".into(),
                operation_start: 0.0,
                operation_end: 0.0,
                installed_other: 3,
                not_applicable: 100,
            }),
            patches: vec![FakePatch {
                kb: kb.into(),
                title: format!("2026-11 Cumulative Update for Windows Server 2022 ({kb})"),
                classification: "SecurityUpdates".into(),
                severity: "Critical".into(),
                state: "MISSING".into(),
                installed_time: 0.0,
                cves: vec!["CVE-2026-21001".into(), "CVE-2026-21002".into()],
            }],
            outcome: InstallOutcome::Succeed,
        }
    }

    fn count(&self, state: &str) -> i32 {
        self.patches.iter().filter(|p| p.state == state).count() as i32
    }

    /// The counts of the patch state, from the patches' states.
    pub fn counts(&self) -> PatchCounts {
        PatchCounts {
            installed: self.count("INSTALLED"),
            installed_pending_reboot: self.count("INSTALLED_PENDING_REBOOT"),
            installed_rejected: self.count("INSTALLED_REJECTED"),
            missing: self.count("MISSING"),
            failed: self.count("FAILED"),
            available_security_update: self.count("AVAILABLE_SECURITY_UPDATE"),
        }
    }
}

/// Counts derived from an instance's patches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PatchCounts {
    pub installed: i32,
    pub installed_pending_reboot: i32,
    pub installed_rejected: i32,
    pub missing: i32,
    pub failed: i32,
    pub available_security_update: i32,
}

/// A patch group registered with a baseline (`DescribePatchGroups`).
#[derive(Debug, Clone, PartialEq)]
pub struct FakePatchGroup {
    pub name: String,
    pub baseline_id: String,
    pub baseline_name: String,
    pub operating_system: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FakePlugin {
    pub name: String,
    pub status: String,
    pub status_details: String,
    pub response_code: i32,
    pub start: Option<f64>,
    pub finish: Option<f64>,
    pub output: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FakeInvocation {
    pub instance_id: String,
    pub instance_name: String,
    /// `CommandInvocationStatus` wire value.
    pub status: String,
    pub status_details: String,
    pub plugin: FakePlugin,
}

impl FakeInvocation {
    pub fn is_terminal(&self) -> bool {
        !matches!(
            self.status.as_str(),
            "Pending" | "InProgress" | "Delayed" | "Cancelling"
        )
    }
    /// Counts against MaxErrors (Failed, TimedOut; not Undeliverable).
    pub fn is_error(&self) -> bool {
        matches!(self.status_details.as_str(), "Failed" | "ExecutionTimedOut")
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct FakeCommand {
    pub id: String,
    pub document: String,
    pub comment: String,
    pub parameters: Vec<(String, Vec<String>)>,
    pub instance_ids: Vec<String>,
    /// (Key, Values), e.g. ("tag:Patch Group", ["pilot"]).
    pub targets: Vec<(String, Vec<String>)>,
    pub requested: f64,
    pub expires_after: f64,
    /// `CommandStatus` wire value.
    pub status: String,
    pub status_details: String,
    pub max_concurrency: String,
    pub max_errors: String,
    pub timeout_seconds: i32,
    pub invocations: Vec<FakeInvocation>,
    cancel_requested: bool,
}

impl FakeCommand {
    pub fn is_terminal(&self) -> bool {
        !matches!(
            self.status.as_str(),
            "Pending" | "InProgress" | "Cancelling"
        )
    }
    pub fn target_count(&self) -> i32 {
        self.invocations.len() as i32
    }
    pub fn completed_count(&self) -> i32 {
        self.invocations.iter().filter(|i| i.is_terminal()).count() as i32
    }
    pub fn error_count(&self) -> i32 {
        self.invocations.iter().filter(|i| i.is_error()).count() as i32
    }
    pub fn delivery_timed_out_count(&self) -> i32 {
        let timed_out = |i: &&FakeInvocation| i.status_details == "DeliveryTimedOut";
        self.invocations.iter().filter(timed_out).count() as i32
    }
}

/// What `SendCommand` asks for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CommandRequest {
    pub document: String,
    pub comment: String,
    pub parameters: Vec<(String, Vec<String>)>,
    pub instance_ids: Vec<String>,
    pub targets: Vec<(String, Vec<String>)>,
    pub max_concurrency: Option<String>,
    pub max_errors: Option<String>,
    pub timeout_seconds: Option<i32>,
}

/// "10", "10%" of `of` (rounded up, at least 1 when a percent of a non-empty set).
pub fn limit_of(limit: &str, of: usize, round_up: bool) -> usize {
    match limit.strip_suffix('%') {
        Some(pct) => {
            let pct: usize = pct.parse().unwrap_or(100);
            let raw = of * pct;
            if round_up {
                raw.div_ceil(100).max(usize::from(of > 0))
            } else {
                raw / 100
            }
        }
        None => limit.parse().unwrap_or(usize::MAX),
    }
}

/// The fake account's fleet.
#[derive(Debug, Clone, Default)]
pub struct FakeFleet {
    /// Now, epoch seconds.
    pub now: f64,
    pub instances: Vec<FakeInstance>,
    pub patch_groups: Vec<FakePatchGroup>,
    pub commands: Vec<FakeCommand>,
    /// Maintenance windows and their targets (`fake::windows`).
    pub windows: Vec<super::windows::FakeWindow>,
    next_command: u64,
}

impl FakeFleet {
    /// An empty fleet whose clock reads `now` (epoch seconds).
    pub fn new(now: f64) -> FakeFleet {
        FakeFleet {
            now,
            ..FakeFleet::default()
        }
    }

    /// Moves the clock; online instances ping as it moves.
    pub fn advance(&mut self, secs: f64) {
        self.now += secs;
        let now = self.now;
        for instance in self.instances.iter_mut().filter(|i| i.ping == "Online") {
            instance.last_ping = now;
        }
    }

    /// Adds an instance; online ones have just pinged, their scan ended an hour ago.
    pub fn add_instance(&mut self, mut instance: FakeInstance) {
        if instance.ping == "Online" {
            instance.last_ping = self.now;
        }
        if let Some(state) = instance.patch_state.as_mut() {
            state.operation_start = self.now - 3600.0;
            state.operation_end = self.now - 3540.0;
        }
        self.instances.push(instance);
    }

    pub fn add_patch_group(&mut self, name: &str, baseline_name: &str, os: &str) {
        self.patch_groups.push(FakePatchGroup {
            name: name.into(),
            baseline_id: "pb-0c10e65780example".into(),
            baseline_name: baseline_name.into(),
            operating_system: os.into(),
        });
    }

    pub fn instance_mut(&mut self, id: &str) -> Option<&mut FakeInstance> {
        self.instances.iter_mut().find(|i| i.id == id)
    }

    pub fn command(&self, id: &str) -> Option<&FakeCommand> {
        self.commands.iter().find(|c| c.id == id)
    }

    /// The instance stops answering (`ConnectionLost`, last ping stays where it was).
    pub fn set_ping(&mut self, id: &str, ping: &str) {
        let now = self.now;
        if let Some(instance) = self.instance_mut(id) {
            instance.ping = ping.into();
            if ping == "Online" {
                instance.last_ping = now;
            }
        }
    }

    /// `SendCommand`: a Pending command; its targets are resolved on the first step.
    pub fn send_command(&mut self, request: CommandRequest) -> String {
        self.next_command += 1;
        let id = format!("00000000-fake-4000-8000-{:012x}", self.next_command);
        let timeout_seconds = request.timeout_seconds.unwrap_or(3600);
        self.commands.push(FakeCommand {
            id: id.clone(),
            document: request.document,
            comment: request.comment,
            parameters: request.parameters,
            instance_ids: request.instance_ids,
            targets: request.targets,
            requested: self.now,
            expires_after: self.now + f64::from(timeout_seconds),
            status: "Pending".into(),
            status_details: "Pending".into(),
            max_concurrency: request.max_concurrency.unwrap_or_else(|| "50".into()),
            max_errors: request.max_errors.unwrap_or_else(|| "0".into()),
            timeout_seconds,
            invocations: Vec::new(),
            cancel_requested: false,
        });
        id
    }

    /// `CancelCommand`: false when the command is unknown.
    pub fn cancel_command(&mut self, id: &str) -> bool {
        let Some(command) = self.commands.iter_mut().find(|c| c.id == id) else {
            return false;
        };
        if !command.is_terminal() {
            command.cancel_requested = true;
            command.status = "Cancelling".into();
            command.status_details = "Cancelling".into();
        }
        true
    }

    fn resolve_targets(&self, command: &FakeCommand) -> Vec<String> {
        let mut ids = command.instance_ids.clone();
        for (key, values) in &command.targets {
            let tag = key.strip_prefix("tag:");
            for instance in &self.instances {
                let hit = match tag {
                    Some("Patch Group" | "PatchGroup") => instance
                        .patch_group
                        .as_ref()
                        .is_some_and(|g| values.contains(g)),
                    _ if key == "InstanceIds" => values.contains(&instance.id),
                    _ => false,
                };
                if hit && !ids.contains(&instance.id) {
                    ids.push(instance.id.clone());
                }
            }
        }
        ids
    }

    /// Moves every command one stage: Pending resolves its targets; then in-progress
    /// invocations finish, MaxErrors is checked, new invocations start up to
    /// MaxConcurrency, and a command whose invocations all ended gets its final status.
    pub fn step(&mut self) {
        for index in 0..self.commands.len() {
            if self.commands[index].is_terminal() {
                continue;
            }
            if self.commands[index].status == "Pending" && !self.commands[index].cancel_requested {
                let ids = self.resolve_targets(&self.commands[index]);
                let invocations = ids.iter().map(|id| self.pending_invocation(id)).collect();
                let command = &mut self.commands[index];
                command.invocations = invocations;
                command.status = "InProgress".into();
                command.status_details = "InProgress".into();
                continue;
            }
            self.step_command(index);
        }
    }

    fn pending_invocation(&self, instance_id: &str) -> FakeInvocation {
        let name = self
            .instances
            .iter()
            .find(|i| i.id == instance_id)
            .map(|i| i.computer_name.clone())
            .unwrap_or_default();
        FakeInvocation {
            instance_id: instance_id.into(),
            instance_name: name,
            status: "Pending".into(),
            status_details: "Pending".into(),
            plugin: FakePlugin {
                name: "PatchWindows".into(),
                status: "Pending".into(),
                status_details: "Pending".into(),
                response_code: -1,
                start: None,
                finish: None,
                output: String::new(),
            },
        }
    }

    fn step_command(&mut self, index: usize) {
        let now = self.now;
        let mut command = self.commands[index].clone();
        // 1. In-progress invocations finish by their instance's outcome.
        let install = command.document == crate::backend::aws_ssm::map::PATCH_DOCUMENT;
        for invocation in command.invocations.iter_mut() {
            if invocation.status == "InProgress" {
                if install {
                    self.finish(invocation, now);
                } else {
                    finish_script(invocation, now);
                }
            }
        }
        // 2. MaxErrors: past it, nothing new starts and the rest is terminated.
        let allowed = limit_of(&command.max_errors, command.invocations.len(), false);
        let tripped = command.error_count() as usize > allowed;
        let cancelling = command.cancel_requested;
        let mut running = 0;
        for invocation in command.invocations.iter_mut() {
            if invocation.status == "Pending" && (tripped || cancelling) {
                invocation.status = "Cancelled".into();
                invocation.status_details = if tripped { "Terminated" } else { "Cancelled" }.into();
                invocation.plugin.status = "Cancelled".into();
                invocation.plugin.status_details = invocation.status_details.clone();
            }
            if invocation.status == "InProgress" {
                running += 1;
            }
        }
        // 3. Start pending invocations up to MaxConcurrency.
        let concurrency = limit_of(&command.max_concurrency, command.invocations.len(), true);
        for invocation in command.invocations.iter_mut() {
            if running >= concurrency {
                break;
            }
            if invocation.status != "Pending" {
                continue;
            }
            let online = self
                .instances
                .iter()
                .any(|i| i.id == invocation.instance_id && i.ping == "Online");
            if online {
                invocation.status = "InProgress".into();
                invocation.status_details = "InProgress".into();
                invocation.plugin.status = "InProgress".into();
                invocation.plugin.status_details = "InProgress".into();
                invocation.plugin.start = Some(now);
                running += 1;
            } else {
                invocation.status = "Failed".into();
                invocation.status_details = "Undeliverable".into();
                invocation.plugin.status = "Failed".into();
                invocation.plugin.status_details = "Undeliverable".into();
            }
        }
        // 4. All ended: the command's final status.
        if command.invocations.iter().all(FakeInvocation::is_terminal) {
            let (status, details) = if cancelling {
                ("Cancelled", "Cancelled")
            } else if tripped {
                ("Failed", "Failed")
            } else if command.invocations.is_empty() {
                ("Failed", "NoInstancesInTag")
            } else if command.invocations.iter().all(|i| i.status == "Success") {
                ("Success", "Success")
            } else {
                // Attempted everywhere, not all succeeded, MaxErrors not passed
                // (the Status that goes with "Incomplete" is unverified).
                ("Failed", "Incomplete")
            };
            command.status = status.into();
            command.status_details = details.into();
        }
        self.commands[index] = command;
    }

    /// Ends one in-progress install invocation and updates its instance's patches and
    /// state.
    fn finish(&mut self, invocation: &mut FakeInvocation, now: f64) {
        let Some(instance) = self.instance_mut(&invocation.instance_id) else {
            return;
        };
        let (status, details, code, output) = match instance.outcome.clone() {
            InstallOutcome::Succeed | InstallOutcome::PendingReboot => {
                let reboot = instance.outcome == InstallOutcome::PendingReboot;
                for patch in instance.patches.iter_mut().filter(|p| p.state == "MISSING") {
                    patch.state = if reboot {
                        "INSTALLED_PENDING_REBOOT"
                    } else {
                        "INSTALLED"
                    }
                    .into();
                    patch.installed_time = now;
                }
                (
                    "Success",
                    "Success",
                    0,
                    "Patch installation succeeded.".to_string(),
                )
            }
            InstallOutcome::Fail {
                kb,
                response_code,
                output,
            } => {
                for patch in instance.patches.iter_mut().filter(|p| p.kb == kb) {
                    patch.state = "FAILED".into();
                }
                ("Failed", "Failed", response_code, output)
            }
            InstallOutcome::TimeOut => ("TimedOut", "ExecutionTimedOut", -1, String::new()),
        };
        if let Some(state) = instance.patch_state.as_mut() {
            state.operation = "Install".into();
            state.operation_start = invocation.plugin.start.unwrap_or(now);
            state.operation_end = now;
        }
        invocation.status = status.into();
        invocation.status_details = details.into();
        invocation.plugin.status = status.into();
        invocation.plugin.status_details = details.into();
        invocation.plugin.response_code = code;
        invocation.plugin.finish = Some(now);
        invocation.plugin.output = output;
    }
}

/// Ends one in-progress invocation of another document (an operator's rollback
/// script): it succeeds and changes no patch (the fake runs no script).
fn finish_script(invocation: &mut FakeInvocation, now: f64) {
    invocation.status = "Success".into();
    invocation.status_details = "Success".into();
    invocation.plugin.status = "Success".into();
    invocation.plugin.status_details = "Success".into();
    invocation.plugin.response_code = 0;
    invocation.plugin.finish = Some(now);
    invocation.plugin.output = "The script ran.".into();
}
