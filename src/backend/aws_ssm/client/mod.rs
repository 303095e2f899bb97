//! The SDK edge: building the `aws_sdk_ssm::Client` (from the standard AWS chain, or
//! from an explicit configuration that reads nothing of the machine), the paged reads
//! as plain `wire` records, and SSM errors classified. The only file that names the
//! SDK's operation and shape types.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_ssm::config::{
    AsyncSleep, BehaviorVersion, Credentials, IdentityCache, Region, SharedAsyncSleep,
    SharedHttpClient, Sleep, StalledStreamProtectionConfig, retry::RetryConfig,
    timeout::TimeoutConfig,
};
use aws_sdk_ssm::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_smithy_http_client::{Builder as HttpBuilder, tls};
use chrono::{DateTime, Utc};

use super::budget::Budget;
use super::wire::{
    Command, CommandDetails, CommandStatus, Instance, Invocation, InvocationDetails,
    InvocationStatus, OperatingSystem, PatchComplianceState, PatchGroup, PatchOperation, PatchRow,
    PatchState, PingStatus, PlatformType, Plugin, PluginStatus, RebootOption, ResourceType,
};

/// At most this many instance ids per `DescribeInstancePatchStates` (the API's bound).
pub const INSTANCE_IDS_PER_CALL: usize = 50;

/// Where the client's region, profile and endpoint come from when not the chain's.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChainSettings {
    /// `--region`; else the chain's (`AWS_REGION`, the profile's `region`).
    pub region: Option<String>,
    /// `--profile`; else `AWS_PROFILE` or `default`.
    pub profile: Option<String>,
    /// An endpoint URL; else `AWS_ENDPOINT_URL_SSM`, `AWS_ENDPOINT_URL` or AWS's.
    pub endpoint_url: Option<String>,
}

/// A configuration spelled out in full: nothing is read from the environment, profile
/// files or instance metadata (tests, the fake SSM).
#[derive(Debug, Clone)]
pub struct ExplicitSettings {
    pub endpoint_url: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Attempts per call, the first included (SDK standard retry).
    pub max_attempts: u32,
    /// How the SDK waits between attempts; `None` is the tokio timer. A sleep given here
    /// turns the SDK's timeouts and stalled-stream protection off (they run on it).
    pub sleep: Option<SharedAsyncSleep>,
}

/// The HTTP client: hyper 1 and rustls with ring (no aws-lc, no hyper 0.14).
fn http_client() -> SharedHttpClient {
    HttpBuilder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}

/// A sleep that does not wait and records what it was asked: the SDK's backoff between
/// retries, observable and instant (tests).
#[derive(Debug, Clone, Default)]
pub struct NoWait {
    asked: Arc<Mutex<Vec<Duration>>>,
}

impl NoWait {
    /// The waits asked so far.
    pub fn asked(&self) -> Vec<Duration> {
        self.asked.lock().map(|a| a.clone()).unwrap_or_default()
    }
}

impl AsyncSleep for NoWait {
    fn sleep(&self, duration: Duration) -> Sleep {
        if let Ok(mut asked) = self.asked.lock() {
            asked.push(duration);
        }
        Sleep::new(std::future::ready(()))
    }
}

/// Why an SSM call failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SsmError {
    /// `ThrottlingException` after the SDK's own retries.
    #[error("SSM is throttling requests: {0}")]
    Throttled(String),
    /// An error SSM answered (`InvalidNextToken`, `AccessDeniedException`...).
    #[error("SSM answered {code}: {message}")]
    Service { code: String, message: String },
    /// No answer: connection, timeout, an unreadable response.
    #[error("SSM could not be reached: {0}")]
    Transport(String),
    /// The gateway's own store failed (the rollout state SSM lacks).
    #[error("the gateway's store failed: {0}")]
    Store(String),
}

impl SsmError {
    /// SSM may have acted even though no answer says so (no answer, or a server error):
    /// look for the command's marker before sending again.
    pub fn outcome_unknown(&self) -> bool {
        match self {
            SsmError::Transport(_) => true,
            SsmError::Service { code, .. } => matches!(
                code.as_str(),
                "InternalServerError" | "InternalFailure" | "ServiceUnavailable"
            ),
            SsmError::Throttled(_) | SsmError::Store(_) => false,
        }
    }
}

fn classify<E, R>(error: aws_sdk_ssm::error::SdkError<E, R>) -> SsmError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match error.code() {
        Some("ThrottlingException") => {
            SsmError::Throttled(error.message().unwrap_or("rate exceeded").to_string())
        }
        Some(code) => SsmError::Service {
            code: code.to_string(),
            message: error.message().unwrap_or_default().to_string(),
        },
        None => SsmError::Transport(DisplayErrorContext(&error).to_string()),
    }
}

fn time(value: Option<&aws_sdk_ssm::primitives::DateTime>) -> Option<DateTime<Utc>> {
    let value = value?;
    DateTime::from_timestamp(value.secs(), value.subsec_nanos())
}

/// The next page of a paginator, once the budget allows a call.
macro_rules! next_page {
    ($client:ident, $pages:ident) => {{
        $client.take().await;
        $pages.next().await
    }};
}

mod windows;

/// The patchdeck side of one SSM account and region.
#[derive(Debug, Clone)]
pub struct SsmClient {
    inner: aws_sdk_ssm::Client,
    /// The budget every page of every call takes from (none: unbounded).
    budget: Option<Arc<Budget>>,
}

impl SsmClient {
    /// From the standard AWS chain (env, profile, SSO, process, web identity, ECS,
    /// instance role), with the overrides given. Standard retries are adaptive (a
    /// client-side rate limiter that slows down on throttling).
    pub async fn from_chain(settings: &ChainSettings) -> SsmClient {
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(http_client());
        if let Some(region) = &settings.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(profile) = &settings.profile {
            loader = loader.profile_name(profile);
        }
        let sdk = loader.load().await;
        let mut config = aws_sdk_ssm::config::Builder::from(&sdk)
            .retry_config(RetryConfig::adaptive().with_max_attempts(5))
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_timeout(Duration::from_secs(30))
                    .build(),
            );
        if let Some(url) = &settings.endpoint_url {
            config = config.endpoint_url(url);
        }
        SsmClient {
            inner: aws_sdk_ssm::Client::from_conf(config.build()),
            budget: None,
        }
    }

    /// From `settings` alone (static credentials, fixed region and endpoint).
    pub fn explicit(settings: &ExplicitSettings) -> SsmClient {
        let credentials = Credentials::new(
            &settings.access_key_id,
            &settings.secret_access_key,
            None,
            None,
            "patchdeck-explicit",
        );
        let mut config = aws_sdk_ssm::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(settings.region.clone()))
            .endpoint_url(&settings.endpoint_url)
            .credentials_provider(credentials)
            .http_client(http_client())
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(settings.max_attempts)
                    .with_initial_backoff(Duration::from_millis(50))
                    .with_max_backoff(Duration::from_secs(2)),
            );
        if let Some(sleep) = &settings.sleep {
            // The sleep also drives the SDK's timeouts, stalled-stream checks and the
            // credential cache's load timeout: one that does not wait would expire them
            // at once, so they are off with it (static credentials need no cache).
            config = config
                .sleep_impl(sleep.clone())
                .timeout_config(TimeoutConfig::disabled())
                .identity_cache(IdentityCache::no_cache())
                .stalled_stream_protection(StalledStreamProtectionConfig::disabled());
        }
        SsmClient {
            inner: aws_sdk_ssm::Client::from_conf(config.build()),
            budget: None,
        }
    }

    /// Every managed instance (`DescribeInstanceInformation`, all pages).
    pub async fn instances(&self) -> Result<Vec<Instance>, SsmError> {
        let request = self.inner.describe_instance_information().max_results(50);
        let mut pages = request.into_paginator().send();
        let mut out = Vec::new();
        while let Some(page) = next_page!(self, pages) {
            for i in page.map_err(classify)?.instance_information_list() {
                out.push(Instance {
                    id: i.instance_id().unwrap_or_default().to_string(),
                    ping: PingStatus::parse(i.ping_status().map_or("", |s| s.as_str())),
                    last_ping: time(i.last_ping_date_time()),
                    platform: PlatformType::parse(i.platform_type().map_or("", |s| s.as_str())),
                    platform_name: i.platform_name().unwrap_or_default().to_string(),
                    platform_version: i.platform_version().unwrap_or_default().to_string(),
                    resource_type: ResourceType::parse(
                        i.resource_type().map_or("", |s| s.as_str()),
                    ),
                    computer_name: i.computer_name().map(String::from),
                    name: i.name().map(String::from),
                    ip: i.ip_address().map(String::from),
                });
            }
        }
        Ok(out)
    }

    /// The patch states of `ids` (`DescribeInstancePatchStates`, 50 ids a call, all
    /// pages of each).
    pub async fn patch_states(&self, ids: &[String]) -> Result<Vec<PatchState>, SsmError> {
        let mut out = Vec::new();
        for chunk in ids.chunks(INSTANCE_IDS_PER_CALL) {
            let request = self
                .inner
                .describe_instance_patch_states()
                .set_instance_ids(Some(chunk.to_vec()))
                .max_results(100);
            let mut pages = request.into_paginator().send();
            while let Some(page) = next_page!(self, pages) {
                for s in page.map_err(classify)?.instance_patch_states() {
                    out.push(PatchState {
                        instance_id: s.instance_id().to_string(),
                        patch_group: s.patch_group().to_string(),
                        baseline_id: s.baseline_id().to_string(),
                        installed: s.installed_count(),
                        installed_other: s.installed_other_count(),
                        installed_pending_reboot: s.installed_pending_reboot_count().unwrap_or(0),
                        installed_rejected: s.installed_rejected_count().unwrap_or(0),
                        missing: s.missing_count(),
                        failed: s.failed_count(),
                        not_applicable: s.not_applicable_count(),
                        operation: PatchOperation::parse(s.operation().as_str()),
                        operation_start: time(Some(s.operation_start_time())).unwrap_or_default(),
                        operation_end: time(Some(s.operation_end_time())).unwrap_or_default(),
                        reboot_option: s.reboot_option().map(|r| RebootOption::parse(r.as_str())),
                    });
                }
            }
        }
        Ok(out)
    }

    /// The patches of one instance (`DescribeInstancePatches`, all pages), only those in
    /// `state` (e.g. "FAILED") when given.
    pub async fn patches(
        &self,
        instance_id: &str,
        state: Option<&str>,
    ) -> Result<Vec<PatchRow>, SsmError> {
        let mut request = self
            .inner
            .describe_instance_patches()
            .instance_id(instance_id)
            .max_results(100);
        if let Some(state) = state {
            let filter = aws_sdk_ssm::types::PatchOrchestratorFilter::builder()
                .key("State")
                .values(state)
                .build();
            request = request.filters(filter);
        }
        let mut pages = request.into_paginator().send();
        let mut out = Vec::new();
        while let Some(page) = next_page!(self, pages) {
            for p in page.map_err(classify)?.patches() {
                out.push(PatchRow {
                    kb: p.kb_id().to_string(),
                    title: p.title().to_string(),
                    classification: p.classification().to_string(),
                    severity: p.severity().to_string(),
                    state: PatchComplianceState::parse(p.state().as_str()),
                    installed_time: time(Some(p.installed_time())).filter(|t| t.timestamp() > 0),
                    cves: p
                        .cve_ids()
                        .unwrap_or_default()
                        .split(',')
                        .map(str::trim)
                        .filter(|c| !c.is_empty())
                        .map(String::from)
                        .collect(),
                });
            }
        }
        Ok(out)
    }

    /// Patch groups registered with a baseline (`DescribePatchGroups`, all pages).
    pub async fn patch_groups(&self) -> Result<Vec<PatchGroup>, SsmError> {
        let request = self.inner.describe_patch_groups().max_results(100);
        let mut pages = request.into_paginator().send();
        let mut out = Vec::new();
        while let Some(page) = next_page!(self, pages) {
            for m in page.map_err(classify)?.mappings() {
                let baseline = m.baseline_identity();
                out.push(PatchGroup {
                    name: m.patch_group().unwrap_or_default().to_string(),
                    baseline_id: baseline
                        .and_then(|b| b.baseline_id())
                        .unwrap_or_default()
                        .into(),
                    baseline_name: baseline
                        .and_then(|b| b.baseline_name())
                        .unwrap_or_default()
                        .into(),
                    operating_system: OperatingSystem::parse(
                        baseline
                            .and_then(|b| b.operating_system())
                            .map_or("", |o| o.as_str()),
                    ),
                });
            }
        }
        Ok(out)
    }

    /// Commands of `document` (`ListCommands` with a DocumentName filter, all pages),
    /// or the one command `command_id`.
    pub async fn commands(
        &self,
        document: &str,
        command_id: Option<&str>,
    ) -> Result<Vec<Command>, SsmError> {
        let mut request = self.inner.list_commands().max_results(50);
        match command_id {
            Some(id) => request = request.command_id(id),
            None => {
                let filter = aws_sdk_ssm::types::CommandFilter::builder()
                    .key(aws_sdk_ssm::types::CommandFilterKey::DocumentName)
                    .value(document)
                    .build()
                    .map_err(|e| SsmError::Transport(e.to_string()))?;
                request = request.filters(filter);
            }
        }
        let mut pages = request.into_paginator().send();
        let mut out = Vec::new();
        while let Some(page) = next_page!(self, pages) {
            for c in page.map_err(classify)?.commands() {
                let targets = c
                    .targets()
                    .iter()
                    .map(|t| (t.key().unwrap_or_default().to_string(), t.values().to_vec()));
                let operation = c
                    .parameters()
                    .and_then(|p| p.get("Operation"))
                    .and_then(|v| v.first())
                    .cloned();
                out.push(Command {
                    id: c.command_id().unwrap_or_default().to_string(),
                    document: c.document_name().unwrap_or_default().to_string(),
                    comment: c.comment().unwrap_or_default().to_string(),
                    requested: time(c.requested_date_time()),
                    status: CommandStatus::parse(c.status().map_or("", |s| s.as_str())),
                    details: CommandDetails::parse(c.status_details().unwrap_or_default()),
                    max_concurrency: c.max_concurrency().unwrap_or_default().to_string(),
                    max_errors: c.max_errors().unwrap_or_default().to_string(),
                    target_count: c.target_count(),
                    completed_count: c.completed_count(),
                    error_count: c.error_count(),
                    delivery_timed_out_count: c.delivery_timed_out_count(),
                    targets: targets.collect(),
                    instance_ids: c.instance_ids().to_vec(),
                    operation,
                });
            }
        }
        Ok(out)
    }

    /// The invocations of one command with their plugins (`ListCommandInvocations`
    /// with `Details=true`, all pages).
    pub async fn invocations(&self, command_id: &str) -> Result<Vec<Invocation>, SsmError> {
        let request = self
            .inner
            .list_command_invocations()
            .command_id(command_id)
            .details(true)
            .max_results(50);
        let mut pages = request.into_paginator().send();
        let mut out = Vec::new();
        while let Some(page) = next_page!(self, pages) {
            for i in page.map_err(classify)?.command_invocations() {
                let plugins = i.command_plugins().iter().map(|p| Plugin {
                    name: p.name().unwrap_or_default().to_string(),
                    status: PluginStatus::parse(p.status().map_or("", |s| s.as_str())),
                    details: p.status_details().unwrap_or_default().to_string(),
                    response_code: p.response_code(),
                    output: p.output().unwrap_or_default().to_string(),
                    finished: time(p.response_finish_date_time()),
                });
                out.push(Invocation {
                    command_id: i.command_id().unwrap_or_default().to_string(),
                    instance_id: i.instance_id().unwrap_or_default().to_string(),
                    instance_name: i.instance_name().unwrap_or_default().to_string(),
                    requested: time(i.requested_date_time()),
                    status: InvocationStatus::parse(i.status().map_or("", |s| s.as_str())),
                    details: InvocationDetails::parse(i.status_details().unwrap_or_default()),
                    plugins: plugins.collect(),
                });
            }
        }
        Ok(out)
    }

    /// The underlying SDK client (for the write path).
    pub fn sdk(&self) -> &aws_sdk_ssm::Client {
        &self.inner
    }
}

/// What a `SendCommand` targets.
#[derive(Debug, Clone, PartialEq)]
pub enum SendTargets {
    /// The instances whose tag `key` (`Patch Group`) is `value`.
    Tag { key: String, value: String },
    /// These instances (at most 50 a command: the caller batches).
    Instances(Vec<String>),
}

/// One `SendCommand`: a document with its parameters, targets, rate and failure gate,
/// and the comment that carries patchdeck's marker.
#[derive(Debug, Clone, PartialEq)]
pub struct SendSpec {
    pub document: String,
    pub parameters: Vec<(String, Vec<String>)>,
    pub targets: SendTargets,
    pub max_concurrency: String,
    pub max_errors: String,
    pub comment: String,
}

impl SendSpec {
    /// `AWS-RunPatchBaseline` Install (reboot if needed) on `targets`.
    pub fn install(
        targets: SendTargets,
        max_concurrency: &str,
        max_errors: &str,
        comment: &str,
    ) -> SendSpec {
        SendSpec {
            document: super::map::PATCH_DOCUMENT.into(),
            parameters: vec![
                ("Operation".into(), vec!["Install".into()]),
                ("RebootOption".into(), vec!["RebootIfNeeded".into()]),
            ],
            targets,
            max_concurrency: max_concurrency.into(),
            max_errors: max_errors.into(),
            comment: comment.into(),
        }
    }
}

impl SsmClient {
    /// The same client, every page of every call taking from `budget` first.
    pub fn with_budget(&self, budget: Arc<Budget>) -> SsmClient {
        SsmClient {
            inner: self.inner.clone(),
            budget: Some(budget),
        }
    }

    async fn take(&self) {
        if let Some(budget) = &self.budget {
            budget.take().await;
        }
    }

    /// `SendCommand` of `spec`; answers the CommandId. Never retried by the SDK:
    /// `SendCommand` has no client token, so a retry after a lost answer would send a
    /// second command (the caller looks for its marker instead).
    pub async fn send(&self, spec: &SendSpec) -> Result<String, SsmError> {
        self.take().await;
        let mut request = self
            .inner
            .send_command()
            .document_name(&spec.document)
            .max_concurrency(&spec.max_concurrency)
            .max_errors(&spec.max_errors)
            .comment(&spec.comment);
        for (name, values) in &spec.parameters {
            request = request.parameters(name, values.clone());
        }
        request = match &spec.targets {
            SendTargets::Tag { key, value } => request.targets(
                aws_sdk_ssm::types::Target::builder()
                    .key(format!("tag:{key}"))
                    .values(value)
                    .build(),
            ),
            SendTargets::Instances(ids) => request.set_instance_ids(Some(ids.clone())),
        };
        let once = aws_sdk_ssm::config::Builder::default().retry_config(RetryConfig::disabled());
        let answer = request
            .customize()
            .config_override(once)
            .send()
            .await
            .map_err(classify)?;
        let id = answer.command().and_then(|c| c.command_id());
        Ok(id.unwrap_or_default().to_string())
    }
}

impl SsmClient {
    /// `SendCommand` of `AWS-RunPatchBaseline` Install to the instances tagged
    /// `Patch Group = group`, with its rate (MaxConcurrency) and failure gate
    /// (MaxErrors); answers the CommandId.
    pub async fn send_install(
        &self,
        group: &str,
        max_concurrency: &str,
        max_errors: &str,
        comment: &str,
    ) -> Result<String, SsmError> {
        let target = aws_sdk_ssm::types::Target::builder()
            .key("tag:Patch Group")
            .values(group)
            .build();
        let answer = self
            .inner
            .send_command()
            .document_name(super::map::PATCH_DOCUMENT)
            .targets(target)
            .parameters("Operation", vec!["Install".to_string()])
            .parameters("RebootOption", vec!["RebootIfNeeded".to_string()])
            .max_concurrency(max_concurrency)
            .max_errors(max_errors)
            .comment(comment)
            .send()
            .await
            .map_err(classify)?;
        let id = answer.command().and_then(|c| c.command_id());
        Ok(id.unwrap_or_default().to_string())
    }

    /// `CancelCommand` of the whole command.
    pub async fn cancel(&self, command_id: &str) -> Result<(), SsmError> {
        self.take().await;
        let request = self.inner.cancel_command().command_id(command_id);
        request.send().await.map_err(classify)?;
        Ok(())
    }
}
