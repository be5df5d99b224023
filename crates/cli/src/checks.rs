//! `duet-cli speed-test` and `duet-cli doctor`: the checks of `duet-devices`
//! with their results as JSON lines or as a report.

use std::path::Path;

use duet_devices::doctor::{DoctorOptions, doctor as run_doctor};
use duet_devices::{SpeedTestParams, speed_test as run_speed_test};
use serde_json::{Value, json};

/// Runs the speed test, printing a `speed_test_progress` line per step and a
/// `speed_test` line with the result; the exit code (1 when it failed).
pub async fn speed_test(params: &SpeedTestParams, mut print: impl FnMut(&Value)) -> i32 {
    let result = run_speed_test(params, |progress| {
        let mut line = json!({ "event": "speed_test_progress" });
        if let (Some(line), Ok(Value::Object(fields))) = (line.as_object_mut(), serde_json::to_value(progress)) {
            line.extend(fields);
        }
        print(&line);
    })
    .await;
    let mut line = json!({ "event": "speed_test" });
    if let (Some(line), Ok(Value::Object(fields))) = (line.as_object_mut(), serde_json::to_value(&result)) {
        line.extend(fields);
    }
    print(&line);
    if result.success { 0 } else { 1 }
}

/// Runs every check that needs no person and prints the report (JSON or
/// text), saving it into `save` when given; the exit code (1 when broken).
pub async fn doctor(options: DoctorOptions, as_json: bool, save: Option<&Path>, mut print: impl FnMut(&str)) -> i32 {
    let report = run_doctor(options, |step| {
        if !as_json {
            eprintln!("checking: {step:?}");
        }
    })
    .await;
    // JSON on one line, like every other line duet-cli prints.
    print(&if as_json { serde_json::to_string(&report).unwrap_or_default() } else { report.to_text() });
    if let Some(dir) = save {
        match report.save(dir) {
            Ok((json, html)) => eprintln!("report saved: {} and {}", json.display(), html.display()),
            Err(e) => {
                eprintln!("duet-cli: cannot save the report into {}: {e}", dir.display());
                return 1;
            }
        }
    }
    i32::from(report.broken())
}
