//! `GET /v1/events` over a real listener: ids are the global sequence with no gaps,
//! `Last-Event-ID` resumes exactly after, 410 once the history is compacted, live events
//! follow the replay without doubles, and the stream faults.

mod server_support;

use patchdeck::api::server::Faults;
use patchdeck::api::wire::ProblemType;
use patchdeck::backend::{ActionRequest, Backend};
use patchdeck::model::{Identity, RingState, Role, Target, TargetKind, Verb};
use patchdeck::sim::Scenario;
use server_support::{Fleet, config, expect_problem, read_events, read_until_end, within};

/// Makes at least `min` events by pausing and resuming a soaking ring through the
/// backend (the fleet's own clock may be quiet for hours); returns the sequence before.
fn make_events(fleet: &Fleet, min: u64) -> u64 {
    let from = fleet.sim.sequence();
    let ring = fleet
        .sim
        .rings()
        .items
        .into_iter()
        .find(|r| r.state == RingState::Soaking || r.state == RingState::Deploying)
        .expect("an active ring")
        .id;
    let oscar = Identity::new("oscar", Role::Operator);
    let mut verbs = [Verb::Pause, Verb::Resume].into_iter().cycle();
    let mut acts = 0;
    while fleet.sim.sequence() < from + min {
        acts += 1;
        assert!(
            acts <= 10 * min,
            "{acts} pauses and resumes made fewer than {min} events"
        );
        let request = ActionRequest {
            verb: verbs.next().unwrap(),
            target: Target {
                kind: TargetKind::Ring,
                id: ring.clone(),
            },
            reason: None,
            ticket: None,
            patch_id: None,
            cve: None,
            override_reason: None,
            exception: Default::default(),
            if_match: None,
        };
        fleet.sim.act(request, &oscar).expect("pause or resume");
    }
    from
}

/// A fleet with at least `min` events after the returned sequence.
async fn fleet_with_history(min: u64) -> (Fleet, u64) {
    let fleet = Fleet::start(300, Scenario::PatchTuesday).await;
    let from = make_events(&fleet, min);
    (fleet, from)
}

#[tokio::test]
async fn ids_are_the_sequence_without_gaps_and_resume_gives_exactly_what_follows() {
    let (fleet, from) = fleet_with_history(20).await;
    let until = fleet.sim.sequence();
    let count = usize::try_from(until - from).unwrap();

    let events = read_events(fleet.events(Some(from), None).await, count).await;
    for (expected, (id, name, event)) in (from + 1..=until).zip(&events) {
        assert_eq!(*id, expected.to_string());
        assert_eq!(event.seq, expected);
        assert_eq!(name, event.change.kind());
    }

    // A client that saw up to `from + 7` reconnects: Last-Event-ID wins over `since`.
    let resumed_at = from + 7;
    let resumed = read_events(fleet.events(Some(from), Some(resumed_at)).await, count - 7).await;
    assert_eq!(resumed.first().unwrap().2.seq, resumed_at + 1);
    assert_eq!(
        resumed.iter().map(|e| &e.2).collect::<Vec<_>>(),
        events[7..].iter().map(|e| &e.2).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn live_events_follow_the_replay_without_doubles() {
    let (fleet, from) = fleet_with_history(5).await;
    let response = fleet.events(Some(from), None).await;
    assert_eq!(response.status(), 200);
    // The stream is subscribed before the answer starts: events made now are not lost.
    make_events(&fleet, 10);
    let total = usize::try_from(fleet.sim.sequence() - from).unwrap();
    let events = read_events(response, total).await;
    let seqs: Vec<u64> = events.iter().map(|e| e.2.seq).collect();
    let expected: Vec<u64> = (from + 1..=from + total as u64).collect();
    assert_eq!(seqs, expected);
}

#[tokio::test]
async fn compacted_history_is_410_with_the_oldest_sequence() {
    let (fleet, from) = fleet_with_history(20).await;
    fleet.sim.compact_events_through(from + 10);
    let problem =
        expect_problem(fleet.events(Some(from), None).await, ProblemType::Compacted).await;
    let oldest = problem.oldest_sequence.expect("oldest_sequence");
    assert!(oldest > from && oldest <= from + 11, "oldest {oldest}");

    // From the oldest kept event on, the stream still replays.
    let response = fleet.events(Some(oldest - 1), None).await;
    assert_eq!(response.status(), 200);
    let first = read_events(response, 1).await;
    assert_eq!(first[0].2.seq, oldest);

    // A sequence the server never reached (it restarted): 410 too, list again.
    let ahead = fleet.sim.sequence() + 1000;
    expect_problem(
        fleet.events(Some(ahead), None).await,
        ProblemType::Compacted,
    )
    .await;
    // Without a position the stream starts from now, compacted or not.
    assert_eq!(fleet.events(None, None).await.status(), 200);
}

#[tokio::test]
async fn garbage_positions_are_malformed() {
    let fleet = Fleet::start(50, Scenario::PatchTuesday).await;
    expect_problem(
        fleet
            .request("vera", reqwest::Method::GET, "/v1/events?since=yesterday")
            .send()
            .await
            .unwrap(),
        ProblemType::Malformed,
    )
    .await;
    expect_problem(
        fleet
            .request("vera", reqwest::Method::GET, "/v1/events")
            .header("Last-Event-ID", "abc")
            .send()
            .await
            .unwrap(),
        ProblemType::Malformed,
    )
    .await;
    // An empty Last-Event-ID is a client that saw nothing yet: the stream starts now.
    let empty = fleet
        .request("vera", reqwest::Method::GET, "/v1/events")
        .header("Last-Event-ID", "")
        .send()
        .await
        .unwrap();
    assert_eq!(empty.status(), 200);
}

#[tokio::test]
async fn drop_stream_fault_ends_each_stream_after_n_events() {
    let sim_config = config(300, Scenario::PatchTuesday);
    let faults = Faults {
        drop_stream_after: Some(4),
        ..Faults::default()
    };
    let fleet = Fleet::start_with(sim_config, faults).await;
    let from = make_events(&fleet, 10);
    let first = read_until_end(fleet.events(Some(from), None).await).await;
    assert_eq!(first.len(), 4);
    let second = read_until_end(fleet.events(None, Some(first[3].seq)).await).await;
    assert_eq!(second.len(), 4);
    assert_eq!(second[0].seq, first[3].seq + 1);
}

#[tokio::test]
async fn shutting_the_server_down_ends_open_streams() {
    let fleet = Fleet::start(50, Scenario::PatchTuesday).await;
    let response = fleet.events(None, None).await;
    assert_eq!(response.status(), 200);
    let reader = tokio::spawn(read_until_end(response));
    let server_support::Fleet { server, .. } = fleet;
    within("the server to shut down", server.shutdown())
        .await
        .unwrap();
    let events = within("the reader to see the stream end", reader)
        .await
        .unwrap();
    assert!(events.is_empty());
}
