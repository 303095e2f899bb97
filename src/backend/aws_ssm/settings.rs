//! What an SSM backend is told: where the account is (overrides of the standard AWS
//! chain; credentials are never here) and what SSM does not keep: the order of rings,
//! which are production, each ring's rate and failure gate, the gate and soak, the
//! rollback documents, and the budget of calls. A context's `[contexts.NAME.aws_ssm]`
//! table and `serve --backend aws-ssm` flags fill it.

use serde::Deserialize;

use super::client::ChainSettings;

/// The settings of one SSM backend.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SsmSettings {
    /// `--region`; else the chain's (`AWS_REGION`, the profile's `region`).
    pub region: Option<String>,
    /// `--profile`; else `AWS_PROFILE` or `default`.
    pub profile: Option<String>,
    /// An endpoint URL; else `AWS_ENDPOINT_URL_SSM`, `AWS_ENDPOINT_URL` or AWS's.
    pub endpoint_url: Option<String>,
    /// The tag whose value names an instance's patch group: `Patch Group` or
    /// `PatchGroup` (SSM accepts both).
    pub tag_key: String,
    /// Rings (patch group names) in rollout order; groups not listed follow, by name.
    pub ring_order: Vec<String>,
    /// Patch groups that are production: approving them takes two persons.
    pub production: Vec<String>,
    /// A ring command's MaxConcurrency (its rate): `10%` or a number of instances.
    pub max_concurrency: String,
    /// A ring command's MaxErrors (its failure gate): `5%` or a number of instances.
    pub max_errors: String,
    /// The gate: share of a ring's hosts that must succeed before the next ring.
    pub gate_success_pct: u8,
    /// How long a ring soaks after its command succeeded before its gate decides.
    pub soak_minutes: u32,
    /// SSM calls per second this backend allows itself (poller and actions together).
    pub max_requests_per_second: f64,
    /// How often commands in flight and their invocations are polled.
    pub poll_in_flight_secs: u64,
    /// How often all instances, patch states and patch groups are read again.
    pub poll_sweep_secs: u64,
    /// The operator's rollback command per platform (SSM has none); none configured:
    /// rollback is unavailable, and the console says why.
    pub rollback: Vec<RollbackDocument>,
}

/// An operator-defined rollback: an SSM document run on the chosen instances, with
/// `{kb}` in a command replaced by the patch's KB.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RollbackDocument {
    /// `Windows` or `Linux` (SSM's PlatformType).
    pub platform: String,
    /// E.g. `AWS-RunPowerShellScript`.
    pub document: String,
    /// The document's `commands` parameter, e.g.
    /// `wusa.exe /uninstall /kb:{kb} /quiet /norestart`.
    pub commands: Vec<String>,
}

impl Default for SsmSettings {
    fn default() -> SsmSettings {
        SsmSettings {
            region: None,
            profile: None,
            endpoint_url: None,
            tag_key: "Patch Group".into(),
            ring_order: Vec::new(),
            production: Vec::new(),
            max_concurrency: "10%".into(),
            max_errors: "5%".into(),
            gate_success_pct: 95,
            soak_minutes: 60,
            max_requests_per_second: 5.0,
            poll_in_flight_secs: 10,
            poll_sweep_secs: 300,
            rollback: Vec::new(),
        }
    }
}

impl SsmSettings {
    /// The overrides of the standard AWS chain.
    pub fn chain(&self) -> ChainSettings {
        ChainSettings {
            region: self.region.clone(),
            profile: self.profile.clone(),
            endpoint_url: self.endpoint_url.clone(),
        }
    }
}
