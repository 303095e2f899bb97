//! What SSM reports, mapped into patchdeck's model: instances to hosts, patch groups to
//! rings, `AWS-RunPatchBaseline` commands to deployments, invocation results and failed
//! patches to failures. Pure: records and a clock in, model values out. Every SSM enum
//! value is matched by name (docs/backends.md has the tables).

mod deployment;
mod host;
mod window;

#[cfg(test)]
mod tests;

pub use deployment::{MappedDeployment, deployment, patch, ring, ring_id};
pub use host::{
    HostEvidence, host, host_failure, host_note, installed, invocation_state, invocation_words,
};
pub use window::{RingWindow, parse_cron, ring_window, ring_windows, week_position};

use super::wire::{OperatingSystem, PlatformType};

/// The Run Command document of Patch Manager.
pub const PATCH_DOCUMENT: &str = "AWS-RunPatchBaseline";

/// Is `command` a rollback: patchdeck's (`patchdeck rollback act-... batch=N`) or
/// any command of a document other than `AWS-RunPatchBaseline` (the operator's)?
pub fn is_rollback(command: &super::wire::Command) -> bool {
    command.comment.starts_with("patchdeck rollback ") || command.document != PATCH_DOCUMENT
}

/// A command's `MaxConcurrency` (its rate) or `MaxErrors` (its failure gate).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Limit {
    /// A number of instances.
    Count(u32),
    /// A share of the targeted instances, percent.
    Percent(u8),
    /// Absent or not in SSM's form: shown as it came.
    Unparsed(String),
}

impl Limit {
    /// `"10"`, `"10%"` as SSM spells them.
    pub fn parse(text: &str) -> Limit {
        let text = text.trim();
        if let Some(pct) = text.strip_suffix('%') {
            if let Ok(pct) = pct.parse::<u8>()
                && pct <= 100
            {
                return Limit::Percent(pct);
            }
        } else if let Ok(count) = text.parse::<u32>() {
            return Limit::Count(count);
        }
        Limit::Unparsed(text.to_string())
    }

    /// "10%", "5 hosts", "1 host".
    pub fn words(&self) -> String {
        match self {
            Limit::Count(1) => "1 host".into(),
            Limit::Count(n) => format!("{n} hosts"),
            Limit::Percent(p) => format!("{p}%"),
            Limit::Unparsed(text) if text.is_empty() => "not set".into(),
            Limit::Unparsed(text) => format!("'{text}'"),
        }
    }

    /// The limit as a number of hosts out of `of` (a percent rounds down, as a gate).
    pub fn of(&self, of: u32) -> Option<u32> {
        match self {
            Limit::Count(n) => Some(*n),
            Limit::Percent(p) => Some(of * u32::from(*p) / 100),
            Limit::Unparsed(_) => None,
        }
    }
}

/// The platform in words ("Windows", "Linux", "macOS"; an unknown one as SSM says it).
pub fn platform_words(platform: &PlatformType) -> String {
    match platform {
        PlatformType::Windows => "Windows".into(),
        PlatformType::Linux => "Linux".into(),
        PlatformType::MacOs => "macOS".into(),
        PlatformType::Unknown(word) if word.is_empty() => "unknown platform".into(),
        PlatformType::Unknown(word) => word.clone(),
    }
}

/// A baseline's operating system in words, the product its patches are for.
pub fn operating_system_words(os: &OperatingSystem) -> String {
    match os {
        OperatingSystem::Windows => "Windows".into(),
        OperatingSystem::AmazonLinux => "Amazon Linux".into(),
        OperatingSystem::AmazonLinux2 => "Amazon Linux 2".into(),
        OperatingSystem::AmazonLinux2022 => "Amazon Linux 2022".into(),
        OperatingSystem::AmazonLinux2023 => "Amazon Linux 2023".into(),
        OperatingSystem::Ubuntu => "Ubuntu".into(),
        OperatingSystem::RedhatEnterpriseLinux => "Red Hat Enterprise Linux".into(),
        OperatingSystem::Suse => "SUSE Linux Enterprise".into(),
        OperatingSystem::Centos => "CentOS".into(),
        OperatingSystem::OracleLinux => "Oracle Linux".into(),
        OperatingSystem::Debian => "Debian".into(),
        OperatingSystem::MacOs => "macOS".into(),
        OperatingSystem::Raspbian => "Raspberry Pi OS".into(),
        OperatingSystem::RockyLinux => "Rocky Linux".into(),
        OperatingSystem::AlmaLinux => "AlmaLinux".into(),
        OperatingSystem::Unknown(word) if word.is_empty() => "unknown operating system".into(),
        OperatingSystem::Unknown(word) => word.clone(),
    }
}

/// A stable id from a name: lower case, runs of other characters as one '-'
/// ("Wave 1 EMEA" -> "wave-1-emea").
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() {
        "unnamed".into()
    } else {
        out
    }
}

/// The first Windows HRESULT (`0x` and 8 hex digits) in `text`, lower case.
pub fn hresult(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut at = 0;
    while let Some(found) = text[at..].find("0x").or_else(|| text[at..].find("0X")) {
        let start = at + found;
        let digits = &bytes[start + 2..];
        let hex = digits.iter().take_while(|b| b.is_ascii_hexdigit()).count();
        if hex == 8 {
            return Some(text[start..start + 10].to_ascii_lowercase());
        }
        at = start + 2;
    }
    None
}

/// The last non-empty line of a plugin's output.
pub fn last_line(output: &str) -> Option<&str> {
    output.lines().map(str::trim).rev().find(|l| !l.is_empty())
}
