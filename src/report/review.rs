//! `patchdeck report --review DEPLOYMENT`: a stage or incident review in Markdown.

use chrono::{DateTime, Utc};

use crate::api::client::Client;

pub(super) async fn review(
    client: &Client,
    id: &str,
    since: Option<DateTime<Utc>>,
) -> color_eyre::Result<String> {
    let _ = (client, id, since);
    Err(super::ReportUsage("--review is not written yet".into()).into())
}
