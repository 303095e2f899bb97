//! What SSM reports, as plain records copied out of the SDK's types: the mapping and
//! its tests need no SDK. Each SSM enum is our own closed enum of AWS's documented wire
//! values plus `Unknown(word)` for a value added after this code (the SDK's enums are
//! `#[non_exhaustive]`, ours are not, so the mapping matches every value by name).

use chrono::{DateTime, Utc};

macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant,)+
            /// A value AWS added after this code was written: shown as its word.
            Unknown(String),
        }

        impl $name {
            /// Every documented value.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The value as SSM spells it on the wire.
            pub fn parse(wire: &str) -> $name {
                match wire {
                    $($wire => $name::$variant,)+
                    other => $name::Unknown(other.to_string()),
                }
            }

            /// The wire spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $wire,)+
                    $name::Unknown(word) => word,
                }
            }
        }
    };
}

wire_enum!(
    /// `PingStatus` of a managed instance.
    PingStatus { Online => "Online", ConnectionLost => "ConnectionLost", Inactive => "Inactive" }
);

wire_enum!(
    /// `PlatformType` of a managed instance.
    PlatformType { Windows => "Windows", Linux => "Linux", MacOs => "MacOS" }
);

wire_enum!(
    /// `ResourceType` of a managed instance.
    ResourceType { Ec2Instance => "EC2Instance", ManagedInstance => "ManagedInstance" }
);

wire_enum!(
    /// `CommandStatus` of a Run Command command.
    CommandStatus {
        Pending => "Pending",
        InProgress => "InProgress",
        Success => "Success",
        Cancelled => "Cancelled",
        Cancelling => "Cancelling",
        Failed => "Failed",
        TimedOut => "TimedOut",
    }
);

wire_enum!(
    /// A command's `StatusDetails` (a free string in the model; these are the values
    /// the ListCommands documentation lists).
    CommandDetails {
        Pending => "Pending",
        InProgress => "InProgress",
        Delayed => "Delayed",
        Success => "Success",
        Cancelled => "Cancelled",
        Cancelling => "Cancelling",
        Failed => "Failed",
        AccessDenied => "AccessDenied",
        DeliveryTimedOut => "DeliveryTimedOut",
        ExecutionTimedOut => "ExecutionTimedOut",
        Incomplete => "Incomplete",
        NoInstancesInTag => "NoInstancesInTag",
        LimitExceeded => "LimitExceeded",
        RateExceeded => "RateExceeded",
    }
);

wire_enum!(
    /// `CommandInvocationStatus` of one instance's invocation.
    InvocationStatus {
        Pending => "Pending",
        InProgress => "InProgress",
        Delayed => "Delayed",
        Success => "Success",
        Cancelled => "Cancelled",
        Cancelling => "Cancelling",
        Failed => "Failed",
        TimedOut => "TimedOut",
    }
);

wire_enum!(
    /// An invocation's `StatusDetails` (the ListCommandInvocations documentation's list).
    InvocationDetails {
        Pending => "Pending",
        InProgress => "InProgress",
        Delayed => "Delayed",
        Success => "Success",
        Cancelled => "Cancelled",
        Cancelling => "Cancelling",
        Failed => "Failed",
        AccessDenied => "AccessDenied",
        DeliveryTimedOut => "DeliveryTimedOut",
        ExecutionTimedOut => "ExecutionTimedOut",
        Undeliverable => "Undeliverable",
        InvalidPlatform => "InvalidPlatform",
        Terminated => "Terminated",
    }
);

wire_enum!(
    /// `CommandPluginStatus` of one plugin of an invocation.
    PluginStatus {
        Pending => "Pending",
        InProgress => "InProgress",
        Success => "Success",
        Cancelled => "Cancelled",
        Failed => "Failed",
        TimedOut => "TimedOut",
    }
);

wire_enum!(
    /// `PatchComplianceDataState` of one patch on one instance.
    PatchComplianceState {
        Installed => "INSTALLED",
        InstalledOther => "INSTALLED_OTHER",
        InstalledPendingReboot => "INSTALLED_PENDING_REBOOT",
        InstalledRejected => "INSTALLED_REJECTED",
        Missing => "MISSING",
        NotApplicable => "NOT_APPLICABLE",
        Failed => "FAILED",
        AvailableSecurityUpdate => "AVAILABLE_SECURITY_UPDATE",
    }
);

wire_enum!(
    /// `PatchOperationType` of the last patch operation.
    PatchOperation { Scan => "Scan", Install => "Install" }
);

wire_enum!(
    /// `RebootOption` of the last patch operation.
    RebootOption { RebootIfNeeded => "RebootIfNeeded", NoReboot => "NoReboot" }
);

wire_enum!(
    /// `OperatingSystem` of a patch baseline.
    OperatingSystem {
        Windows => "WINDOWS",
        AmazonLinux => "AMAZON_LINUX",
        AmazonLinux2 => "AMAZON_LINUX_2",
        AmazonLinux2022 => "AMAZON_LINUX_2022",
        AmazonLinux2023 => "AMAZON_LINUX_2023",
        Ubuntu => "UBUNTU",
        RedhatEnterpriseLinux => "REDHAT_ENTERPRISE_LINUX",
        Suse => "SUSE",
        Centos => "CENTOS",
        OracleLinux => "ORACLE_LINUX",
        Debian => "DEBIAN",
        MacOs => "MACOS",
        Raspbian => "RASPBIAN",
        RockyLinux => "ROCKY_LINUX",
        AlmaLinux => "ALMA_LINUX",
    }
);

/// A managed instance (`DescribeInstanceInformation`).
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    pub id: String,
    pub ping: PingStatus,
    pub last_ping: Option<DateTime<Utc>>,
    pub platform: PlatformType,
    pub platform_name: String,
    pub platform_version: String,
    pub resource_type: ResourceType,
    pub computer_name: Option<String>,
    pub name: Option<String>,
    pub ip: Option<String>,
}

/// An instance's patch state (`DescribeInstancePatchStates`).
#[derive(Debug, Clone, PartialEq)]
pub struct PatchState {
    pub instance_id: String,
    /// The patch group (empty if the instance has none).
    pub patch_group: String,
    pub baseline_id: String,
    pub installed: i32,
    pub installed_other: i32,
    pub installed_pending_reboot: i32,
    pub installed_rejected: i32,
    pub missing: i32,
    pub failed: i32,
    pub not_applicable: i32,
    pub operation: PatchOperation,
    pub operation_start: DateTime<Utc>,
    pub operation_end: DateTime<Utc>,
    pub reboot_option: Option<RebootOption>,
}

/// One patch on one instance (`DescribeInstancePatches`).
#[derive(Debug, Clone, PartialEq)]
pub struct PatchRow {
    pub kb: String,
    pub title: String,
    pub classification: String,
    pub severity: String,
    pub state: PatchComplianceState,
    pub installed_time: Option<DateTime<Utc>>,
    pub cves: Vec<String>,
}

/// A patch group registered with a baseline (`DescribePatchGroups`).
#[derive(Debug, Clone, PartialEq)]
pub struct PatchGroup {
    pub name: String,
    pub baseline_id: String,
    pub baseline_name: String,
    pub operating_system: OperatingSystem,
}

/// A Run Command command (`ListCommands`).
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    pub id: String,
    pub document: String,
    pub comment: String,
    pub requested: Option<DateTime<Utc>>,
    pub status: CommandStatus,
    pub details: CommandDetails,
    pub max_concurrency: String,
    pub max_errors: String,
    pub target_count: i32,
    pub completed_count: i32,
    pub error_count: i32,
    pub delivery_timed_out_count: i32,
    /// (Key, Values), e.g. ("tag:Patch Group", ["pilot"]).
    pub targets: Vec<(String, Vec<String>)>,
    pub instance_ids: Vec<String>,
    /// `Parameters.Operation` of AWS-RunPatchBaseline ("Install", "Scan").
    pub operation: Option<String>,
}

/// One instance's invocation of a command (`ListCommandInvocations`).
#[derive(Debug, Clone, PartialEq)]
pub struct Invocation {
    pub command_id: String,
    pub instance_id: String,
    pub instance_name: String,
    pub requested: Option<DateTime<Utc>>,
    pub status: InvocationStatus,
    pub details: InvocationDetails,
    pub plugins: Vec<Plugin>,
}

/// One plugin's result in an invocation (with `Details=true`).
#[derive(Debug, Clone, PartialEq)]
pub struct Plugin {
    pub name: String,
    pub status: PluginStatus,
    pub details: String,
    /// The exit code; -1 when the plugin never ran.
    pub response_code: i32,
    pub output: String,
    pub finished: Option<DateTime<Utc>>,
}

/// A maintenance window (`DescribeMaintenanceWindows`' `WindowIdentities`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Window {
    pub id: String,
    pub name: String,
    pub enabled: bool,
    /// `cron(...)`, `rate(...)` or `at(...)`, as SSM has it.
    pub schedule: String,
    /// IANA time zone of the schedule; none: UTC.
    pub time_zone: Option<String>,
    /// Days after the cron date the window runs (`ScheduleOffset`).
    pub schedule_offset: Option<i32>,
    /// Hours.
    pub duration_hours: i32,
    /// Hours before the end when no new task starts.
    pub cutoff_hours: i32,
    /// `NextExecutionTime` as the instant it names; none when absent or unreadable.
    pub next_execution: Option<DateTime<Utc>>,
}

/// A window's target (`DescribeMaintenanceWindowTargets`' `Targets`): which
/// instances or tags it patches.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WindowTarget {
    pub window_id: String,
    pub target_id: String,
    /// `INSTANCE` or `RESOURCE_GROUP`.
    pub resource_type: String,
    /// `(Key, Values)`, e.g. `("tag:Patch Group", ["Pilot"])`.
    pub targets: Vec<(String, Vec<String>)>,
}

/// `MaintenanceWindowStringDateTime` ("2026-12-05T02:00Z", with seconds or an offset
/// too) as an instant.
pub fn window_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    for format in [
        "%Y-%m-%dT%H:%M%#z",
        "%Y-%m-%dT%H:%M:%S%#z",
        "%Y-%m-%dT%H:%M:%S%.f%#z",
    ] {
        if let Ok(t) = DateTime::parse_from_str(text, format) {
            return Some(t.with_timezone(&Utc));
        }
    }
    let bare = text.strip_suffix('Z')?;
    chrono::NaiveDateTime::parse_from_str(bare, "%Y-%m-%dT%H:%M")
        .ok()
        .map(|t| t.and_utc())
}
