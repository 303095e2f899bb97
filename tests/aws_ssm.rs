//! The SSM read path through the real `aws_sdk_ssm` client against the fake SSM on
//! 127.0.0.1: paging, throttling, SigV4, an offline instance, a failing command grouped
//! by its code, a cancel. Credentials and region come from the test's explicit
//! configuration, never from the machine; the fake's fleet is stepped, never waited on.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use patchdeck::backend::aws_ssm::fake::{
    FAKE_ACCESS_KEY, FakeError, FakeFleet, FakeInstance, FakeSsm, InstallOutcome,
};
use patchdeck::backend::aws_ssm::{
    ExplicitSettings, NoWait, SsmClient, SsmError, read_fleet, wire::PingStatus,
};
use patchdeck::model::{DeploymentState, HostState, RingState};

/// 2026-12-02T01:00:00Z.
const START: f64 = 1_796_173_200.0;

fn fleet() -> FakeFleet {
    let mut fleet = FakeFleet::new(START);
    for (group, os) in [
        ("test", "WINDOWS"),
        ("pilot", "WINDOWS"),
        ("wave-1", "WINDOWS"),
    ] {
        fleet.add_patch_group(group, "corp-windows", os);
    }
    let hosts = [
        ("i-0000000000000001", "TEST01", "test"),
        ("i-0000000000000002", "TEST02", "test"),
        ("i-0000000000000003", "PILOT01", "pilot"),
        ("i-0000000000000004", "PILOT02", "pilot"),
        ("i-0000000000000005", "PILOT03", "pilot"),
        ("i-0000000000000006", "WAVE01", "wave-1"),
        ("mi-000000000000007", "LAPTOP-OPS-07", "wave-1"),
    ];
    for (id, name, group) in hosts {
        fleet.add_instance(FakeInstance::windows(id, name, group, "KB5070007"));
    }
    fleet
}

fn client_for(fake: &FakeSsm, max_attempts: u32, sleep: &NoWait) -> SsmClient {
    fake.client(max_attempts, sleep)
}

fn fake_now(fake: &FakeSsm) -> DateTime<Utc> {
    DateTime::from_timestamp(fake.fleet().now as i64, 0).expect("time")
}

#[tokio::test]
async fn every_list_is_read_across_next_token_pages() {
    let fake = FakeSsm::start(fleet()).await.expect("fake");
    for op in [
        "DescribeInstanceInformation",
        "DescribePatchGroups",
        "ListCommandInvocations",
    ] {
        fake.page_size(op, 2);
    }
    let client = client_for(&fake, 1, &NoWait::default());
    let instances = client.instances().await.expect("instances");
    assert_eq!(instances.len(), 7);
    assert_eq!(
        fake.count("DescribeInstanceInformation"),
        4,
        "7 items in pages of 2"
    );
    let tokens: Vec<_> = fake
        .requests()
        .iter()
        .filter(|r| r.operation == "DescribeInstanceInformation")
        .map(|r| {
            r.body
                .get("NextToken")
                .and_then(|t| t.as_str())
                .map(String::from)
        })
        .collect();
    assert_eq!(tokens[0], None);
    assert!(tokens[1..].iter().all(Option::is_some), "{tokens:?}");
    assert_eq!(client.patch_groups().await.expect("groups").len(), 3);
    assert_eq!(fake.count("DescribePatchGroups"), 2);

    let id = client
        .send_install("pilot", "1", "0", "paging")
        .await
        .expect("send");
    fake.fleet().step();
    let invocations = client.invocations(&id).await.expect("invocations");
    assert_eq!(invocations.len(), 3);
    assert_eq!(fake.count("ListCommandInvocations"), 2);
}

#[tokio::test]
async fn a_bad_next_token_is_refused_as_ssm_does() {
    let fake = FakeSsm::start(fleet()).await.expect("fake");
    let client = client_for(&fake, 1, &NoWait::default());
    let answer = client
        .sdk()
        .describe_instance_information()
        .next_token("not-a-token")
        .send()
        .await;
    let error = answer.expect_err("bad token");
    let code = aws_sdk_ssm::error::ProvideErrorMetadata::code(&error);
    assert_eq!(code, Some("InvalidNextToken"));
}

#[tokio::test]
async fn a_throttled_call_is_retried_with_backoff_and_then_answers() {
    let fake = FakeSsm::start(fleet()).await.expect("fake");
    fake.throttle_next("DescribeInstanceInformation", 2);
    let sleep = NoWait::default();
    let client = client_for(&fake, 3, &sleep);
    let instances = client
        .instances()
        .await
        .expect("answered on the third attempt");
    assert_eq!(instances.len(), 7);
    let statuses: Vec<u16> = fake.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [400, 400, 200]);
    let waits = sleep.asked();
    assert_eq!(waits.len(), 2, "one backoff before each retry: {waits:?}");
}

#[tokio::test]
async fn throttling_past_the_retries_is_an_error_that_says_so() {
    let fake = FakeSsm::start(fleet()).await.expect("fake");
    fake.throttle_next("DescribePatchGroups", 3);
    let client = client_for(&fake, 3, &NoWait::default());
    let error = client.patch_groups().await.expect_err("throttled");
    assert!(matches!(error, SsmError::Throttled(_)), "{error:?}");
    assert_eq!(fake.count("DescribePatchGroups"), 3);
}

#[tokio::test]
async fn other_errors_are_not_retried_and_keep_their_code() {
    let fake = FakeSsm::start(fleet()).await.expect("fake");
    fake.fail_next(
        "ListCommands",
        FakeError::new(400, "AccessDeniedException", "no ssm:ListCommands"),
    );
    let client = client_for(&fake, 3, &NoWait::default());
    let error = client
        .commands("AWS-RunPatchBaseline", None)
        .await
        .expect_err("denied");
    assert_eq!(
        error,
        SsmError::Service {
            code: "AccessDeniedException".into(),
            message: "no ssm:ListCommands".into()
        }
    );
    assert_eq!(fake.count("ListCommands"), 1);
}

#[tokio::test]
async fn requests_are_json_1_1_with_a_target_and_a_sigv4_header_scoped_to_ssm() {
    let fake = FakeSsm::start(fleet()).await.expect("fake");
    let client = client_for(&fake, 1, &NoWait::default());
    client
        .patch_groups()
        .await
        .expect("signed request accepted");
    assert_eq!(fake.requests()[0].operation, "DescribePatchGroups");

    // The same request unsigned, or signed for another region, is refused.
    let http = reqwest::Client::new();
    let unsigned = http
        .post(fake.url())
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", "AmazonSSM.DescribePatchGroups")
        .body("{}")
        .send()
        .await
        .expect("answer");
    assert_eq!(unsigned.status(), 400);
    let body: serde_json::Value = unsigned.json().await.expect("json");
    assert_eq!(body["__type"], "MissingAuthenticationTokenException");

    let wrong_region = SsmClient::explicit(&ExplicitSettings {
        endpoint_url: fake.url(),
        region: "us-east-1".into(),
        access_key_id: FAKE_ACCESS_KEY.into(),
        secret_access_key: "fake-secret".into(),
        max_attempts: 1,
        sleep: None,
    });
    let error = wrong_region.patch_groups().await.expect_err("wrong scope");
    assert!(
        matches!(&error, SsmError::Service { code, .. } if code == "InvalidSignatureException"),
        "{error:?}"
    );
}

#[tokio::test]
async fn an_instance_that_stops_answering_is_offline_with_its_last_ping() {
    let fake = FakeSsm::start(fleet()).await.expect("fake");
    fake.fleet()
        .set_ping("i-0000000000000006", "ConnectionLost");
    fake.fleet().advance(600.0);
    let client = client_for(&fake, 1, &NoWait::default());
    let read = read_fleet(&client, fake_now(&fake)).await.expect("read");
    let lost = read
        .hosts
        .iter()
        .find(|h| h.id == "i-0000000000000006")
        .expect("host");
    assert_eq!(lost.state, HostState::Offline);
    assert_eq!(lost.last_seen.timestamp(), START as i64);
    let online = read
        .hosts
        .iter()
        .find(|h| h.id == "i-0000000000000001")
        .expect("host");
    assert_eq!(online.last_seen.timestamp(), START as i64 + 600);
    assert_eq!(
        online.state,
        HostState::Pending,
        "one patch missing, nothing sent yet"
    );
    assert_eq!(
        client.instances().await.expect("instances")[5].ping,
        PingStatus::ConnectionLost
    );
}

#[tokio::test]
async fn a_failing_command_halts_its_ring_and_its_hosts_group_by_code() {
    let mut fleet = fleet();
    let fail = |code: &str| InstallOutcome::Fail {
        kb: "KB5070007".into(),
        response_code: 1,
        output: format!("Installing KB5070007\nInstallation of KB5070007 failed with error {code}"),
    };
    fleet
        .instance_mut("i-0000000000000003")
        .expect("host")
        .outcome = fail("0x800f0922");
    fleet
        .instance_mut("i-0000000000000004")
        .expect("host")
        .outcome = fail("0x800f0922");
    fleet
        .instance_mut("i-0000000000000005")
        .expect("host")
        .outcome = InstallOutcome::TimeOut;
    let fake = FakeSsm::start(fleet).await.expect("fake");
    let client = client_for(&fake, 1, &NoWait::default());
    let id = client
        .send_install("pilot", "100%", "1", "patchdeck pilot try=1")
        .await
        .expect("send");
    for _ in 0..3 {
        fake.fleet().advance(60.0);
        fake.fleet().step();
    }
    assert_eq!(fake.fleet().command(&id).expect("command").status, "Failed");

    let read = read_fleet(&client, fake_now(&fake)).await.expect("read");
    let mut by_code: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for host in read.hosts.iter().filter(|h| h.state == HostState::Failed) {
        let failure = host.failure.as_ref().expect("a failed host says why");
        by_code
            .entry(failure.code.to_string())
            .or_default()
            .push(host.id.to_string());
    }
    let expected: BTreeMap<String, Vec<String>> = [
        (
            "0x800f0922".to_string(),
            vec![
                "i-0000000000000003".to_string(),
                "i-0000000000000004".to_string(),
            ],
        ),
        (
            "ssm-ExecutionTimedOut".to_string(),
            vec!["i-0000000000000005".to_string()],
        ),
    ]
    .into();
    assert_eq!(by_code, expected);
    let failed = read
        .hosts
        .iter()
        .find(|h| h.id == "i-0000000000000003")
        .expect("host");
    assert_eq!(
        failed.failure.as_ref().and_then(|f| f.patch_id.as_deref()),
        Some("kb5070007")
    );
    assert_eq!(
        failed.deployment_id.as_deref(),
        Some(format!("cmd-{id}").as_str())
    );
    assert_eq!(
        fake.count("DescribeInstancePatches"),
        2,
        "the FAILED patches of the two"
    );

    let deployment = &read.deployments[0];
    assert_eq!(deployment.deployment.state, DeploymentState::Halted);
    assert_eq!(
        deployment.deployment.state_reason.as_deref(),
        Some("MaxErrors 1 host exceeded: 3 of 3 failed")
    );
    assert_eq!(deployment.deployment.counts.failed, 3);
    let pilot = read.rings.iter().find(|r| r.id == "pilot").expect("ring");
    assert_eq!(pilot.state, RingState::Halted);
    assert_eq!(pilot.counts.failed, 3);
    assert_eq!(read.patches.len(), 1);
}

#[tokio::test]
async fn a_command_runs_at_its_rate_and_its_hosts_end_succeeded_or_offline() {
    let mut fleet = fleet();
    fleet.set_ping("mi-000000000000007", "ConnectionLost");
    let fake = FakeSsm::start(fleet).await.expect("fake");
    let client = client_for(&fake, 1, &NoWait::default());
    let id = client
        .send_install("wave-1", "1", "0", "")
        .await
        .expect("send");
    fake.fleet().step();
    fake.fleet().step();
    let read = read_fleet(&client, fake_now(&fake)).await.expect("read");
    let host = |id: &str| read.hosts.iter().find(|h| h.id == id).expect("host").state;
    assert_eq!(host("i-0000000000000006"), HostState::Installing);
    assert_eq!(
        host("mi-000000000000007"),
        HostState::Pending,
        "MaxConcurrency 1: still queued"
    );
    assert_eq!(
        read.deployments[0].deployment.state,
        DeploymentState::Running
    );
    assert_eq!(
        read.rings
            .iter()
            .find(|r| r.id == "wave-1")
            .expect("ring")
            .state,
        RingState::Deploying
    );
    for _ in 0..3 {
        fake.fleet().advance(30.0);
        fake.fleet().step();
    }
    let read = read_fleet(&client, fake_now(&fake)).await.expect("read");
    let host = |id: &str| read.hosts.iter().find(|h| h.id == id).expect("host").state;
    assert_eq!(host("i-0000000000000006"), HostState::Succeeded);
    assert_eq!(
        host("mi-000000000000007"),
        HostState::Offline,
        "undeliverable is not a failure"
    );
    assert_eq!(fake.fleet().command(&id).expect("command").status, "Failed");
    assert_eq!(
        fake.fleet().command(&id).expect("command").status_details,
        "Incomplete"
    );
}

#[tokio::test]
async fn a_cancel_reaches_the_fake_and_the_deployment_ends_halted() {
    let fake = FakeSsm::start(fleet()).await.expect("fake");
    let client = client_for(&fake, 1, &NoWait::default());
    let id = client
        .send_install("pilot", "1", "0", "")
        .await
        .expect("send");
    fake.fleet().step();
    fake.fleet().step();
    client.cancel(&id).await.expect("cancel");
    let cancel = fake
        .requests()
        .into_iter()
        .find(|r| r.operation == "CancelCommand")
        .expect("sent");
    assert_eq!(cancel.body["CommandId"], id.as_str());
    let read = read_fleet(&client, fake_now(&fake)).await.expect("read");
    let deployment = &read.deployments[0].deployment;
    assert_eq!(
        deployment.state,
        DeploymentState::Running,
        "effective state: still cancelling"
    );
    assert_eq!(
        deployment.state_reason.as_deref(),
        Some("cancel requested: invocations still running")
    );
    fake.fleet().step();
    let read = read_fleet(&client, fake_now(&fake)).await.expect("read");
    assert_eq!(
        read.deployments[0].deployment.state,
        DeploymentState::Halted
    );
    let states: Vec<HostState> = read
        .hosts
        .iter()
        .filter(|h| h.ring_id == "pilot")
        .map(|h| h.state)
        .collect();
    assert_eq!(
        states,
        [HostState::Succeeded, HostState::Pending, HostState::Pending]
    );
}

#[tokio::test]
async fn two_polls_of_the_fake_become_only_the_changes_between_them() {
    use patchdeck::backend::aws_ssm::Snapshot;
    use patchdeck::model::Change;
    let fake = FakeSsm::start(fleet()).await.expect("fake");
    let client = client_for(&fake, 1, &NoWait::default());
    let mut snapshot = Snapshot::default();
    let first = snapshot.apply(read_fleet(&client, fake_now(&fake)).await.expect("read"));
    assert_eq!(first.len(), 7 + 3, "every host and ring once");
    fake.fleet()
        .set_ping("i-0000000000000006", "ConnectionLost");
    fake.fleet().advance(60.0);
    let second = snapshot.apply(read_fleet(&client, fake_now(&fake)).await.expect("read"));
    let changed: Vec<(String, u64)> = second
        .iter()
        .map(|c| match c {
            Change::Host(h) => (h.id.to_string(), h.version),
            Change::Ring(r) => (r.id.clone(), r.version),
            other => (other.kind().to_string(), 0),
        })
        .collect();
    assert_eq!(
        changed,
        [
            ("i-0000000000000006".to_string(), 2),
            ("wave-1".to_string(), 2)
        ]
    );
    fake.fleet().advance(60.0);
    let quiet = snapshot.apply(read_fleet(&client, fake_now(&fake)).await.expect("read"));
    assert!(quiet.is_empty(), "{quiet:?}");
}
