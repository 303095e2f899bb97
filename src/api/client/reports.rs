//! Reads for reports and the console's compliance strip: compliance (`GET
//! /v1/compliance`, also conditionally with its ETag), every host past the line, and
//! the audit trail (`GET /v1/audit`, approvers only), every page.

use serde::de::DeserializeOwned;

use super::Client;
use super::error::ClientError;
use super::http::read_json;
use super::resources::LIST_PAGE;
use super::retry::READ;
use crate::api::wire::{AuditRecord, List};
use crate::compliance::{Compliance, PastLine};
use crate::model::Deployment;

/// Pages followed for one list before giving up (a server whose cursor never ends).
const MAX_PAGES: usize = 10_000;

impl Client {
    /// `GET /v1/compliance`: the summary and breakdowns under the server's policy.
    pub async fn compliance(&self) -> Result<Compliance, ClientError> {
        self.get_json(&["compliance"], &[]).await
    }

    /// `GET /v1/compliance` with `If-None-Match: if_none_match` (when given): `None`
    /// when the figures did not change (304), else the figures and their ETag.
    pub async fn compliance_if_changed(
        &self,
        if_none_match: Option<&str>,
    ) -> Result<Option<(Compliance, Option<String>)>, ClientError> {
        let url = self.url(&["compliance"], &[]);
        let answer = self
            .send(&url, READ, || {
                let request = self
                    .request(reqwest::Method::GET, &url)
                    .timeout(self.request_timeout)
                    .header(reqwest::header::ACCEPT, "application/json");
                match if_none_match {
                    Some(tag) => request.header(reqwest::header::IF_NONE_MATCH, tag),
                    None => request,
                }
            })
            .await;
        let response = match answer {
            Ok(response) => response,
            Err(ClientError::Redirected { status: 304, .. }) if if_none_match.is_some() => {
                return Ok(None);
            }
            Err(error) => return Err(error),
        };
        let etag = response
            .headers()
            .get(reqwest::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .filter(|v| v.len() <= 200)
            .map(str::to_string);
        Ok(Some((read_json(response, &url).await?, etag)))
    }

    /// `GET /v1/compliance?past=true`, every page: the hosts past the line, earliest
    /// due first.
    pub async fn compliance_past(&self) -> Result<Vec<PastLine>, ClientError> {
        self.every_page(&["compliance"], &[("past", "true")]).await
    }

    /// `GET /v1/audit`, every page: the audit trail, oldest first.
    pub async fn audit_trail(&self) -> Result<Vec<AuditRecord>, ClientError> {
        self.every_page(&["audit"], &[]).await
    }

    /// `GET /v1/deployments/{id}`.
    pub async fn deployment(&self, id: &str) -> Result<Deployment, ClientError> {
        self.get_json(&["deployments", id], &[]).await
    }

    async fn every_page<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &[(&str, &str)],
    ) -> Result<Vec<T>, ClientError> {
        let limit = LIST_PAGE.to_string();
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut page_query = query.to_vec();
            page_query.push(("limit", limit.as_str()));
            if let Some(cursor) = &cursor {
                page_query.push(("cursor", cursor));
            }
            let page: List<T> = self.get_json(segments, &page_query).await?;
            items.extend(page.items);
            match page.next_cursor {
                Some(next) if Some(&next) == cursor.as_ref() => {
                    return Err(ClientError::Malformed(format!(
                        "{} repeats the same cursor",
                        segments.join("/")
                    )));
                }
                Some(next) => cursor = Some(next),
                None => return Ok(items),
            }
        }
        Err(ClientError::Malformed(format!(
            "{} has more than {MAX_PAGES} pages",
            segments.join("/")
        )))
    }
}
