//! Reads: who the token is, the summary, one host, and the whole fleet (every page of
//! every list) with the sequence to watch events from.

use serde::de::DeserializeOwned;

use super::Client;
use super::error::ClientError;
use super::http::read_json;
use crate::api::wire::List;
use crate::model::{Action, Deployment, Fleet, Host, Identity, Patch, Ring, Seq, Summary};

/// Items asked per page when listing everything (the server's maximum).
pub const LIST_PAGE: usize = 1000;
/// Header of the summary (and lists) naming the event sequence it is valid at.
pub const SEQUENCE_HEADER: &str = "patchdeck-sequence";
/// Pages followed for one list before giving up (a server whose cursor never ends).
const MAX_PAGES: usize = 10_000;

impl Client {
    /// `GET /v1/me`: who the token is.
    pub async fn me(&self) -> Result<Identity, ClientError> {
        self.get_json(&["me"], &[]).await
    }

    /// `GET /v1/summary`.
    pub async fn summary(&self) -> Result<Summary, ClientError> {
        self.get_json(&["summary"], &[]).await
    }

    /// `GET /v1/hosts/{id}`: one host with its lifecycle history.
    pub async fn host(&self, id: &str) -> Result<Host, ClientError> {
        self.get_json(&["hosts", id], &[]).await
    }

    /// Everything the console shows, and the sequence to watch events from.
    ///
    /// `fleet.sequence` is the lowest sequence of the lists: events from there replay
    /// whatever changed while listing (`Fleet::upsert` keeps the newest version). The
    /// summary's sequence comes in the `patchdeck-sequence` header; it is read after the
    /// rings anyway, so that the rings' sequence bounds it from below if a server does
    /// not send the header.
    pub async fn snapshot(&self) -> Result<Fleet, ClientError> {
        self.fleet_with_hosts(&[]).await
    }

    /// What the first screen needs, whatever the fleet's size: the summary, rings,
    /// deployments, patches, actions and the failed hosts, but not the other hosts,
    /// which [`Client::hosts_page`] brings in behind it. Its `sequence` is as
    /// [`Client::snapshot`]'s: events from there replay what changed meanwhile.
    pub async fn first_screen(&self) -> Result<Fleet, ClientError> {
        let mut fleet = self.fleet_with_hosts(&[("state", "failed")]).await?;
        fleet.listing_hosts = true;
        Ok(fleet)
    }

    /// One page of every host (`GET /v1/hosts`, the server's largest page), from
    /// `cursor` (none: the first); its `next_cursor` is none on the last page, and a
    /// server that gives the same cursor back is malformed.
    pub async fn hosts_page(&self, cursor: Option<&str>) -> Result<List<Host>, ClientError> {
        let limit = LIST_PAGE.to_string();
        let mut query = vec![("limit", limit.as_str())];
        if let Some(cursor) = cursor {
            query.push(("cursor", cursor));
        }
        let mut page: List<Host> = self.get_json(&["hosts"], &query).await?;
        page.next_cursor = next_cursor("hosts", cursor, page.next_cursor.take())?;
        for host in &mut page.items {
            // The host list does not show it; a host's detail asks for it.
            host.history.clear();
        }
        Ok(page)
    }

    /// Every list, the hosts as `hosts_query` asks.
    async fn fleet_with_hosts(&self, hosts_query: &[(&str, &str)]) -> Result<Fleet, ClientError> {
        let rings: Listed<Ring> = self.list_all("rings", &[]).await?;
        let (summary, summary_sequence) = self.summary_at().await?;
        let deployments: Listed<Deployment> = self.list_all("deployments", &[]).await?;
        let patches: Listed<Patch> = self.list_all("patches", &[]).await?;
        let actions: Listed<Action> = self.list_all("actions", &[]).await?;
        let hosts: Listed<Host> = self.list_all("hosts", hosts_query).await?;

        let mut fleet = Fleet {
            sequence: [
                rings.sequence,
                deployments.sequence,
                patches.sequence,
                actions.sequence,
                hosts.sequence,
                summary_sequence.unwrap_or(Seq::MAX),
            ]
            .into_iter()
            .min()
            .unwrap_or_default(),
            ..Fleet::default()
        };
        fleet.summary = Some(summary);
        for ring in rings.items {
            fleet.rings.insert(ring.id.clone(), ring);
        }
        for deployment in deployments.items {
            fleet.deployments.insert(deployment.id.clone(), deployment);
        }
        for patch in patches.items {
            fleet.patches.insert(patch.id.clone(), patch);
        }
        for action in actions.items {
            fleet.actions.insert(action.id.clone(), action);
        }
        fleet.hosts = hosts
            .items
            .into_iter()
            .map(|mut host| {
                host.history.clear();
                (host.id.clone(), host)
            })
            .collect();
        Ok(fleet)
    }

    /// The summary and, if the server says so, the sequence it is valid at.
    async fn summary_at(&self) -> Result<(Summary, Option<Seq>), ClientError> {
        let (response, url) = self.get(&["summary"], &[]).await?;
        let sequence = response
            .headers()
            .get(SEQUENCE_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        Ok((read_json(response, &url).await?, sequence))
    }

    /// Every page of a list; its sequence is the lowest of the pages'.
    async fn list_all<T: DeserializeOwned>(
        &self,
        resource: &str,
        filter: &[(&str, &str)],
    ) -> Result<Listed<T>, ClientError> {
        let limit = LIST_PAGE.to_string();
        let mut listed = Listed {
            items: Vec::new(),
            sequence: Seq::MAX,
        };
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut page_query = vec![("limit", limit.as_str())];
            page_query.extend_from_slice(filter);
            if let Some(cursor) = &cursor {
                page_query.push(("cursor", cursor));
            }
            let page: List<T> = self.get_json(&[resource], &page_query).await?;
            listed.items.extend(page.items);
            listed.sequence = listed.sequence.min(page.sequence);
            match next_cursor(resource, cursor.as_deref(), page.next_cursor)? {
                Some(next) => cursor = Some(next),
                None => return Ok(listed),
            }
        }
        Err(ClientError::Malformed(format!(
            "the {resource} list has more than {MAX_PAGES} pages"
        )))
    }
}

/// The cursor to follow after a page asked with `asked`: none after the last page; the
/// same cursor again would never end.
fn next_cursor(
    resource: &str,
    asked: Option<&str>,
    next: Option<String>,
) -> Result<Option<String>, ClientError> {
    match next {
        Some(next) if Some(next.as_str()) == asked => Err(ClientError::Malformed(format!(
            "the {resource} list repeats the same cursor"
        ))),
        next => Ok(next),
    }
}

/// A whole list, all pages.
struct Listed<T> {
    items: Vec<T>,
    sequence: Seq,
}
