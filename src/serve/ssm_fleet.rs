//! The AWS Systems Manager fleet behind a gateway: its settings (a TOML file of
//! [`SsmSettings`], a context's `[context.aws_ssm]`, and `--region`/`--profile` over
//! both), the client from the standard AWS chain, and the wall clock: an SSM fleet is
//! read, not replayed, so its time is the time.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::api::server::FleetClock;
use crate::backend::aws_ssm::{SsmBackend, SsmClient, SsmSettings};
use crate::store::AnyStore;

/// An SSM fleet's clock: now. Nothing moves it.
pub struct WallClock;

impl FleetClock for WallClock {
    fn fleet_time(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn advance_to(&self, _fleet_time: DateTime<Utc>) {}
}

/// Reads a settings file (`--aws-ssm-settings`): the keys of `[context.aws_ssm]`.
pub fn read_settings(path: &Path) -> color_eyre::Result<SsmSettings> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| color_eyre::eyre::eyre!("cannot read {}: {e}", path.display()))?;
    toml::from_str(&text).map_err(|e| {
        let line = e
            .span()
            .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
        color_eyre::eyre::eyre!(
            "{}{}: {}",
            path.display(),
            line.map(|l| format!(":{l}")).unwrap_or_default(),
            e.message().trim()
        )
    })
}

/// Connects to the account (the standard chain with the settings' overrides) and
/// reads the fleet once; the backend then polls it.
pub async fn start(settings: SsmSettings, store: AnyStore) -> color_eyre::Result<Arc<SsmBackend>> {
    let client = SsmClient::from_chain(&settings.chain()).await;
    let region = settings
        .region
        .clone()
        .unwrap_or_else(|| "the chain's region".into());
    SsmBackend::start(client, settings, Some(store))
        .await
        .map_err(|error| color_eyre::eyre::eyre!("cannot read the SSM fleet in {region}: {error}"))
}
