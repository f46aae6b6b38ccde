//! The catalogue's verdicts that must hold on any server: identical
//! verdicts when deliveries are delayed, the dropped-connection rule, and
//! transcripts and security flags of failing cases (issue 12 items 4, 6, 7).

use pushcheck::client::journal::{Channel, Direction, Payload};
use pushcheck::conformance::Verdict;
use reference_server::Config;

use crate::support::{run_catalogue, run_catalogue_settled};

/// Issue 12 item 4: a correct server whose deliveries reach clients 150 ms
/// after the REST reply (pongs immediate), judged with a 250 ms settle time,
/// gets exactly the verdicts of the undelayed server: no false alarm.
pub(crate) async fn the_catalogue_gives_the_same_verdicts_with_delayed_delivery(
    want: &[(String, String)],
) {
    let delayed = |c: &mut Config| c.faults.delay_deliveries_ms = Some(150);
    let settle = Some(std::time::Duration::from_millis(250));
    let (results, _b, _sink) = run_catalogue_settled(&[], delayed, settle).await;
    let got: Vec<(String, String)> = results
        .iter()
        .map(|r| (r.id.clone(), r.verdict.as_str().to_owned()))
        .collect();
    let differ: Vec<String> = results
        .iter()
        .zip(want)
        .filter(|(r, w)| r.verdict.as_str() != w.1)
        .map(|(r, w)| {
            format!(
                "{}: {} (baseline {}) {:?} {:?} {:?}",
                r.id,
                r.verdict.as_str(),
                w.1,
                r.expected,
                r.actual,
                r.message
            )
        })
        .collect();
    assert!(
        differ.is_empty(),
        "verdicts that differ with delayed delivery: {differ:#?}"
    );
    assert_eq!(got.len(), want.len());
    // The delay was in effect: in rest-api/events/single the event reached
    // the subscriber at least 150 ms after the publish was sent (the hold
    // starts when the server queues the event, after it got the request;
    // the reply may reach the harness later than that under load).
    let single = results
        .iter()
        .find(|r| r.id == "rest-api/events/single")
        .expect("the case ran");
    let sent = single
        .transcript
        .iter()
        .find(|e| e.channel == Channel::Http && e.direction == Direction::Sent)
        .expect("the publish was sent");
    let delivered = single
        .transcript
        .iter()
        .find(|e| matches!(&e.payload, Payload::Text(t) if t.contains("\"event\":\"ev\"")))
        .expect("the event arrived");
    let lag = delivered.at.saturating_sub(sent.at);
    assert!(
        lag >= std::time::Duration::from_millis(150),
        "delivery lag {lag:?}"
    );
}

/// Issue 12: a connection that dies without a close frame in answer to a
/// frame is a Must failure whatever the case checked, so the Should case
/// signin-identity fails (not warns) against a server whose task crashes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_dropped_without_a_close_frame_fails_even_a_should_case() {
    let prefixes = ["protocol/presence/signin-identity".to_owned()];
    let (results, _b, _sink) = run_catalogue(&prefixes, |c| c.faults.drop_on_signin = true).await;
    let r = &results[0];
    assert_eq!(r.verdict, Verdict::Fail, "{r:?}");
    let actual = r.actual.as_deref().unwrap_or("");
    assert!(
        actual.contains("without a close frame") && actual.contains("pusher:signin"),
        "{actual}"
    );
}

/// Issue 12 item 7: a failing case keeps its transcript in the JSON report
/// (validated against the schema) and `--trace` prints it as lines, with
/// the offending frame in both; its security flag is reported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_case_keeps_its_transcript_and_is_marked_as_a_security_failure() {
    let prefixes = ["protocol/client-events/reserved-names-presence".to_owned()];
    let (results, _b, _sink) =
        run_catalogue(&prefixes, |c| c.faults.relay_reserved_client_events = true).await;
    let r = &results[0];
    assert_eq!(r.verdict, Verdict::Fail, "{r:?}");
    assert!(r.security_failure());
    let trace = r.trace();
    assert!(trace.starts_with("# protocol/client-events/reserved-names-presence fail"));
    assert!(
        trace.contains(" < {") && trace.contains("pusher_internal:member_added"),
        "{trace}"
    );
    let report = pushcheck::report::Report {
        target_name: "faulty".into(),
        ws: "ws://127.0.0.1:1".into(),
        rest: "http://127.0.0.1:1".into(),
        cases: results.clone(),
        known_deviations: Default::default(),
        target_id: "ws://127.0.0.1:1".into(),
        interrupted: false,
    };
    let json = pushcheck::report::json::render(&report);
    assert_eq!(json["security_failures"], 1);
    let case = &json["cases"][0];
    assert_eq!(case["security"], true);
    let lines = case["transcript"].as_array().expect("a transcript");
    assert!(
        lines
            .iter()
            .any(|l| l.as_str().is_some_and(|l| l.contains("ghost")))
    );
    crate::reference::check(&json).expect("the report validates against the schema");
}
