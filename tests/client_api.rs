//! The API client against a scripted server on 127.0.0.1: reads and paging, the event
//! stream, actions (paths, headers, idempotent retries, Retry-After) and errors.

mod client_mock;

use std::time::Duration;

use client_mock::{Answer, End, Mock, Plan, Script, recording_sleeper, story, within};
use futures_util::StreamExt;
use patchdeck::api::client::{Client, ClientError, MAX_RETRIES};
use patchdeck::api::wire::{Problem, ProblemType};
use patchdeck::backend::{ActionCall, ActionRequest};
use patchdeck::model::{ActionState, Role, Target, TargetKind, Verb};

const TOKEN: &str = "s3cret-token-value";

async fn mock_and_client(script: Script) -> (Mock, Client) {
    let mock = Mock::start(script).await;
    let client = Client::new(&mock.url, Some(TOKEN.to_string())).unwrap();
    (mock, client)
}

fn call(verb: Verb, kind: TargetKind, id: &str) -> ActionCall {
    ActionCall {
        request: ActionRequest {
            reason: Some("bad KB on G3 laptops".into()),
            ticket: Some("CHG-1234".into()),
            if_match: Some(7),
            ..ActionRequest::new(
                verb,
                Target {
                    kind,
                    id: id.to_string(),
                },
            )
        },
        idempotency_key: "key-0001".into(),
    }
}

#[tokio::test]
async fn me_sends_the_bearer_token() {
    let (mock, client) = mock_and_client(story(3, 0)).await;
    let identity = client.me().await.unwrap();
    assert_eq!(
        (identity.name.as_str(), identity.role),
        ("alice", Role::Approver)
    );
    let seen = mock.seen("/v1/me");
    assert_eq!(
        seen[0].authorization.as_deref(),
        Some("Bearer s3cret-token-value")
    );
}

#[tokio::test]
async fn snapshot_follows_cursors_and_watches_from_the_lowest_sequence() {
    let mut script = story(7, 12);
    script.listed_at = 12;
    script.page_size = Some(3);
    script.list_sequence.insert("rings".into(), 13);
    script.list_sequence.insert("hosts".into(), 9);
    script.list_sequence.insert("actions".into(), 15);
    script.list_sequence.insert("summary".into(), 11);
    let truth = script.fleet_at(12);
    let (mock, client) = mock_and_client(script).await;

    let fleet = client.snapshot().await.unwrap();

    assert_eq!(fleet.hosts.len(), 7);
    assert!(fleet.same_content(&truth));
    assert_eq!(fleet.sequence, 9, "lowest sequence of all lists");
    let pages = mock.seen("/v1/hosts");
    assert_eq!(pages.len(), 3, "7 hosts in pages of 3");
    assert_eq!(
        pages[0].query.get("limit").map(String::as_str),
        Some("1000")
    );
    assert_eq!(pages[0].query.get("cursor"), None);
    assert_eq!(
        pages[1].query.get("cursor").map(String::as_str),
        Some("ws-0002")
    );
    assert_eq!(
        pages[2].query.get("cursor").map(String::as_str),
        Some("ws-0005")
    );
    // The summary is read after a list whose sequence bounds it from below.
    let order: Vec<String> = mock.with(|s| s.seen.iter().map(|r| r.path.clone()).collect());
    let rings = order.iter().position(|p| p == "/v1/rings").unwrap();
    let summary = order.iter().position(|p| p == "/v1/summary").unwrap();
    assert!(rings < summary, "{order:?}");

    mock.with(|s| s.list_sequence.insert("summary".into(), 8));
    assert_eq!(
        client.snapshot().await.unwrap().sequence,
        8,
        "the summary's counts too"
    );
}

#[tokio::test]
async fn hostile_text_in_answers_is_cleaned_before_anyone_sees_it() {
    let mut script = story(3, 0);
    let hostile = "WS\u{1b}[2J\u{1b}(0-\u{9d}0;pwned\u{9c}00\u{202e}01\u{200b}";
    script.base.hosts.get_mut("ws-0001").unwrap().name = hostile.into();
    let (_mock, client) = mock_and_client(script).await;
    assert_eq!(client.host("ws-0001").await.unwrap().name, "WS-0001");
    let fleet = client.snapshot().await.unwrap();
    assert_eq!(fleet.hosts["ws-0001"].name, "WS-0001");
}

#[tokio::test]
async fn host_detail_is_fetched_by_escaped_id() {
    let (mock, client) = mock_and_client(story(3, 0)).await;
    let host = client.host("ws-0001").await.unwrap();
    assert_eq!(host.name, "WS-0001");
    let missing = client.host("no/such host").await.unwrap_err();
    assert!(
        matches!(missing, ClientError::Problem(ref p) if p.status == 404),
        "{missing:?}"
    );
    assert_eq!(mock.seen("/v1/hosts/ws-0001").len(), 1);
}

#[tokio::test]
async fn events_resume_after_since_with_last_event_id() {
    let (mock, client) = mock_and_client(story(5, 10)).await;
    let mut stream = client.events(6).await.unwrap();
    let mut seqs = Vec::new();
    for _ in 0..4 {
        seqs.push(
            within("an event", stream.next())
                .await
                .unwrap()
                .unwrap()
                .seq,
        );
    }
    assert_eq!(seqs, [7, 8, 9, 10]);
    let seen = mock.seen("/v1/events");
    assert_eq!(seen[0].last_event_id.as_deref(), Some("6"));
    assert_eq!(seen[0].query.get("since").map(String::as_str), Some("6"));
}

async fn first_error(client: &Client) -> ClientError {
    let mut stream = client.events(0).await.unwrap();
    loop {
        match within("an error", stream.next()).await {
            Some(Ok(_)) => continue,
            Some(Err(error)) => {
                assert!(
                    within("the end", stream.next()).await.is_none(),
                    "the stream ends after an error"
                );
                return error;
            }
            None => panic!("stream ended without an error"),
        }
    }
}

#[tokio::test]
async fn events_whose_id_and_seq_disagree_are_malformed() {
    let mut script = story(5, 10);
    let mut wrong = script.log[2].clone();
    wrong.seq = 99;
    let raw = format!(
        "id: 3\ndata: {}\n\n",
        serde_json::to_string(&wrong).unwrap()
    );
    script.plans.push_back(Plan::Stream {
        back: 0,
        count: Some(2),
        end: End::RawThenHang(raw),
        relist_at: None,
    });
    let (_mock, client) = mock_and_client(script).await;
    let error = first_error(&client).await;
    assert_eq!(
        error,
        ClientError::Malformed("event id 3 carries seq 99".into())
    );
}

#[tokio::test]
async fn events_that_are_not_model_events_are_malformed_without_the_body() {
    let secret_body = format!(
        "{{\"seq\": 1, \"kind\": \"host\", \"item\": {{\"id\": \"{}\"}}}}",
        "x".repeat(5000)
    );
    for raw in [
        "id: 1\ndata: {not json\n\n".to_string(),
        format!("id: 1\ndata: {secret_body}\n\n"),
        "id: one\ndata: {}\n\n".to_string(),
        "id: 1\ndata: {\"seq\":1,\"at\":\"2026-11-10T00:00:00Z\",\"kind\":\"weather\",\"item\":{}}\n\n".to_string(),
    ] {
        let mut script = story(5, 0);
        script.plans.push_back(Plan::Stream {
            back: 0,
            count: None,
            end: End::RawThenHang(raw.clone()),
            relist_at: None,
        });
        let (_mock, client) = mock_and_client(script).await;
        let error = first_error(&client).await;
        assert!(matches!(error, ClientError::Malformed(_)), "{raw}: {error:?}");
        assert!(error.to_string().len() < 400, "{error}");
    }
}

#[tokio::test]
async fn a_silent_event_stream_times_out() {
    let mut script = story(5, 3);
    script.plans.push_back(Plan::Stream {
        back: 0,
        count: None,
        end: End::Hang,
        relist_at: None,
    });
    let (mock, client) = mock_and_client(script).await;
    let client = client.with_idle_timeout(Duration::from_millis(300));
    let error = first_error(&client).await;
    assert_eq!(
        error,
        ClientError::Timeout {
            url: format!("{}/v1/events", mock.url)
        }
    );
}

#[tokio::test]
async fn refused_event_streams_say_why() {
    let mut script = story(5, 3);
    script.plans.push_back(Plan::gone(3));
    script.plans.push_back(Plan::status(429, Some(7)));
    script.plans.push_back(Plan::status(401, None));
    let (_mock, client) = mock_and_client(script).await;
    let (sleeper, asked) = recording_sleeper();
    let client = client.with_sleeper(sleeper);
    assert_eq!(client.events(0).await.err(), Some(ClientError::Compacted));
    assert_eq!(
        client.events(0).await.err(),
        Some(ClientError::RateLimited {
            retry_after: Duration::from_secs(7)
        })
    );
    assert_eq!(
        client.events(0).await.err(),
        Some(ClientError::Unauthorized)
    );
    assert!(
        asked.lock().unwrap().is_empty(),
        "the watcher decides when to retry"
    );
}

#[tokio::test]
async fn actions_go_to_their_path_with_idempotency_key_and_if_match() {
    let (mock, client) = mock_and_client(story(3, 0)).await;
    let cases = [
        (
            Verb::Pause,
            TargetKind::Ring,
            "pilot",
            "/v1/rings/pilot/pause",
        ),
        (
            Verb::Approve,
            TargetKind::Deployment,
            "dep-7",
            "/v1/deployments/dep-7/approve",
        ),
        (
            Verb::Retry,
            TargetKind::Host,
            "ws-0001",
            "/v1/hosts/ws-0001/retry",
        ),
        (Verb::Emergency, TargetKind::Fleet, "fleet", "/v1/emergency"),
    ];
    for (verb, kind, id, path) in cases {
        let action = client.act(&call(verb, kind, id)).await.unwrap();
        assert_eq!(action.verb, verb);
        assert_eq!(action.state, ActionState::Succeeded);
        let seen = mock.seen(path);
        assert_eq!(seen.len(), 1, "{path}");
        assert_eq!(seen[0].method, "POST");
        assert_eq!(seen[0].idempotency_key.as_deref(), Some("key-0001"));
        assert_eq!(seen[0].if_match.as_deref(), Some("\"7\""));
        assert_eq!(
            seen[0].authorization.as_deref(),
            Some("Bearer s3cret-token-value")
        );
        let body: serde_json::Value = serde_json::from_str(&seen[0].body).unwrap();
        assert_eq!(body["reason"], "bad KB on G3 laptops");
        assert_eq!(body["ticket"], "CHG-1234");
    }
}

#[tokio::test]
async fn retry_after_is_waited_before_each_retry_and_retries_are_bounded() {
    let mut script = story(3, 0);
    for _ in 0..10 {
        script.answers.push_back(Answer::Status {
            status: 429,
            retry_after: Some(7),
            problem: None,
        });
    }
    let (mock, client) = mock_and_client(script).await;
    let (sleeper, asked) = recording_sleeper();
    let client = client.with_sleeper(sleeper);

    let error = client
        .act(&call(Verb::Pause, TargetKind::Ring, "pilot"))
        .await
        .unwrap_err();

    assert_eq!(
        error,
        ClientError::RateLimited {
            retry_after: Duration::from_secs(7)
        }
    );
    assert_eq!(error.retry_after(), Some(Duration::from_secs(7)));
    assert_eq!(
        *asked.lock().unwrap(),
        vec![Duration::from_secs(7); MAX_RETRIES as usize]
    );
    let seen = mock.seen("/v1/rings/pilot/pause");
    assert_eq!(seen.len(), MAX_RETRIES as usize + 1);
    assert!(
        seen.iter()
            .all(|r| r.idempotency_key.as_deref() == Some("key-0001"))
    );
}

#[tokio::test]
async fn unavailable_then_accepted_waits_once_and_reuses_the_key() {
    let mut script = story(3, 0);
    script.answers.push_back(Answer::Status {
        status: 503,
        retry_after: Some(2),
        problem: None,
    });
    let (mock, client) = mock_and_client(script).await;
    let (sleeper, asked) = recording_sleeper();
    let client = client.with_sleeper(sleeper);

    let action = client
        .act(&call(Verb::Resume, TargetKind::Deployment, "dep-1"))
        .await
        .unwrap();

    assert_eq!(action.verb, Verb::Resume);
    assert_eq!(*asked.lock().unwrap(), vec![Duration::from_secs(2)]);
    let keys: Vec<_> = mock
        .seen("/v1/deployments/dep-1/resume")
        .into_iter()
        .map(|r| r.idempotency_key)
        .collect();
    assert_eq!(keys, vec![Some("key-0001".to_string()); 2]);
}

#[tokio::test]
async fn a_timed_out_action_is_retried_with_the_same_key() {
    // The first attempt the server sees is never answered; every later one is answered
    // at once. The request timeout ends the hung attempt, and it also bounds each retry:
    // on a slow machine a retry may time out too. So what is checked holds however many
    // attempts it took: the call succeeds, the hung attempt and the one answered are both
    // seen with the same key, there is one pause before each retry and each pause
    // doubles the one before. (The timeout is generous next to a loopback round trip;
    // the test waits it out once.)
    let mut script = story(3, 0);
    script.answers.push_back(Answer::Hang);
    let (mock, client) = mock_and_client(script).await;
    let (sleeper, asked) = recording_sleeper();
    let client = client
        .with_sleeper(sleeper)
        .with_request_timeout(Duration::from_secs(1));

    let action = within(
        "the action, retried",
        client.act(&call(Verb::Exclude, TargetKind::Host, "ws-0002")),
    )
    .await
    .unwrap();

    assert_eq!(action.verb, Verb::Exclude);
    let keys: Vec<_> = mock
        .seen("/v1/hosts/ws-0002/exclude")
        .into_iter()
        .map(|r| r.idempotency_key)
        .collect();
    let pauses = asked.lock().unwrap().clone();
    assert!(
        keys.len() >= 2,
        "the hung attempt and the answered retry: {keys:?}"
    );
    assert!(
        keys.iter().all(|k| k.as_deref() == Some("key-0001")),
        "{keys:?}"
    );
    assert!(
        !pauses.is_empty() && keys.len() <= pauses.len() + 1,
        "one pause before each retry: {pauses:?}, {} attempts seen",
        keys.len()
    );
    assert!(
        pauses.windows(2).all(|w| w[1] == w[0] * 2),
        "the pause doubles: {pauses:?}"
    );
}

#[tokio::test]
async fn refusals_become_typed_errors() {
    let forbidden =
        Problem::new(ProblemType::Forbidden, "Forbidden").with_detail("needs role approver");
    let mut mismatch = Problem::new(ProblemType::VersionMismatch, "Version mismatch");
    mismatch.current_version = Some(9);
    let conflict =
        Problem::new(ProblemType::Conflict, "Conflict").with_detail("deployment is halted");
    let cases: Vec<(Answer, ClientError)> = vec![
        (
            Answer::Status {
                status: 401,
                retry_after: None,
                problem: None,
            },
            ClientError::Unauthorized,
        ),
        (
            Answer::Status {
                status: 403,
                retry_after: None,
                problem: Some(forbidden),
            },
            ClientError::Forbidden("needs role approver".into()),
        ),
        (
            Answer::Status {
                status: 412,
                retry_after: None,
                problem: Some(mismatch),
            },
            ClientError::VersionMismatch {
                current_version: Some(9),
            },
        ),
        (
            Answer::Status {
                status: 409,
                retry_after: None,
                problem: Some(conflict.clone()),
            },
            ClientError::Problem(conflict),
        ),
        (
            Answer::Garbage(500, "<html>oops</html>"),
            ClientError::Http { status: 500 },
        ),
    ];
    for (answer, expected) in cases {
        let mut script = story(3, 0);
        script.answers.push_back(answer);
        let (_mock, client) = mock_and_client(script).await;
        let error = client
            .act(&call(Verb::Halt, TargetKind::Ring, "wave-1"))
            .await
            .unwrap_err();
        assert_eq!(error, expected);
        assert!(!error.to_string().contains(TOKEN));
        assert!(!error.to_string().contains('\n'));
    }
    assert_eq!(
        ClientError::Problem(
            Problem::new(ProblemType::Conflict, "Conflict").with_detail("deployment is halted")
        )
        .to_string(),
        "Conflict: deployment is halted (HTTP 409)"
    );
}

#[tokio::test]
async fn a_success_that_is_not_json_is_malformed() {
    let mut script = story(3, 0);
    script
        .answers
        .push_back(Answer::Garbage(200, "{\"id\": \"act-1\", \"verb\": "));
    let (_mock, client) = mock_and_client(script).await;
    let error = client
        .act(&call(Verb::Pause, TargetKind::Ring, "pilot"))
        .await
        .unwrap_err();
    let ClientError::Malformed(what) = &error else {
        panic!("expected malformed, got {error:?}");
    };
    assert!(what.starts_with("/v1/rings/pilot/pause: "), "{what}");
}

#[tokio::test]
async fn an_unreachable_server_names_its_url_and_never_the_token() {
    // Bind then drop: nothing listens on this port any more.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let (sleeper, asked) = recording_sleeper();
    let client = Client::new(&url, Some(TOKEN.into()))
        .unwrap()
        .with_sleeper(sleeper);

    let error = client.me().await.unwrap_err();
    let ClientError::Network { url: named, .. } = &error else {
        panic!("expected a network error, got {error:?}");
    };
    assert_eq!(named, &format!("{url}/v1/me"));
    assert!(
        error
            .to_string()
            .starts_with(&format!("cannot reach {url}/v1/me: ")),
        "{error}"
    );
    assert!(
        asked.lock().unwrap().is_empty(),
        "reads are not retried on connection errors"
    );

    // Actions are, with the same key, a bounded number of times.
    let error = client
        .act(&call(Verb::Pause, TargetKind::Ring, "pilot"))
        .await
        .unwrap_err();
    assert!(error.is_transport(), "{error:?}");
    assert_eq!(asked.lock().unwrap().len(), MAX_RETRIES as usize);
    assert!(!error.to_string().contains(TOKEN));
    assert!(!format!("{client:?}").contains(TOKEN));
}

#[test]
fn bad_urls_and_tokens_are_refused_up_front() {
    for url in [
        "",
        "localhost:7070",
        "ftp://example.org",
        "http://user:pw@example.org",
    ] {
        assert!(
            matches!(Client::new(url, None), Err(ClientError::Config(_))),
            "{url}"
        );
    }
    let error = Client::new("http://127.0.0.1:7070", Some("line\nbreak".into())).unwrap_err();
    assert!(!error.to_string().contains("line"), "{error}");
    let client = Client::new("http://127.0.0.1:7070/", None).unwrap();
    assert_eq!(client.base_url(), "http://127.0.0.1:7070");
}
