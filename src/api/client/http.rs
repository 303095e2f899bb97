//! The plumbing of a call: URLs under `/v1/`, requests with the token, GETs, and
//! bodies read size-capped and parsed strictly.

use reqwest::header;
use reqwest::{Method, RequestBuilder, Response, Url};
use serde::de::DeserializeOwned;

use super::Client;
use super::error::{ClientError, clip, transport_error};
use super::retry::READ;

/// Largest JSON answer read (a page of 1000 hosts is about 1 MB).
const MAX_BODY: usize = 32 * 1024 * 1024;

impl Client {
    /// `base` + `/v1/` + segments (each escaped) + query.
    pub(super) fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().push("v1").extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    pub(super) fn request(&self, method: Method, url: &Url) -> RequestBuilder {
        let mut request = self.http.request(method, url.clone());
        if let Some(token) = &self.token {
            request = request.header(header::AUTHORIZATION, token.clone());
        }
        request
    }

    pub(super) async fn get(
        &self,
        segments: &[&str],
        query: &[(&str, &str)],
    ) -> Result<(Response, Url), ClientError> {
        let url = self.url(segments, query);
        let response = self
            .send(&url, READ, || {
                self.request(Method::GET, &url)
                    .timeout(self.request_timeout)
                    .header(header::ACCEPT, "application/json")
            })
            .await?;
        Ok((response, url))
    }

    pub(super) async fn get_json<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &[(&str, &str)],
    ) -> Result<T, ClientError> {
        let (response, url) = self.get(segments, query).await?;
        read_json(response, &url).await
    }
}

/// The URL without its query, for messages.
pub(super) fn url_text(url: &Url) -> String {
    let mut url = url.clone();
    url.set_query(None);
    url.to_string()
}

/// Read at most `limit` bytes of the body.
pub(super) async fn read_body(
    mut response: Response,
    url: &Url,
    limit: usize,
) -> Result<Vec<u8>, ClientError> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| transport_error(&e, url))?
    {
        if body.len() + chunk.len() > limit {
            return Err(ClientError::Malformed(format!(
                "the answer from {} is larger than {} MiB",
                url.path(),
                limit / (1024 * 1024)
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

pub(super) async fn read_json<T: DeserializeOwned>(
    response: Response,
    url: &Url,
) -> Result<T, ClientError> {
    let body = read_body(response, url, MAX_BODY).await?;
    super::untrusted::decode(&body)
        .map_err(|e| ClientError::Malformed(format!("{}: {}", url.path(), clip(&e.to_string()))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_escaped_in_paths() {
        let client = Client::new("http://127.0.0.1:7070/prefix/", None).unwrap();
        let url = client.url(&["hosts", "a/b c?"], &[("cursor", "x&y")]);
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:7070/prefix/v1/hosts/a%2Fb%20c%3F?cursor=x%26y"
        );
    }
}
