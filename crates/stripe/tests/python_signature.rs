//! Cross-checks the `Stripe-Signature` scheme against Stripe's official Python library:
//! headers we sign must pass `stripe.Webhook.construct_event`, headers it makes must pass
//! our `verify`, and a tampered body must be refused by both.
//!
//! Skipped (with a note) when `python3 -c "import stripe"` fails, unless
//! `PRAXIS_REQUIRE_PYTHON_CHECKS` is set, in which case the test fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use praxis_stripe::webhook::{self, SignatureError};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

const SECRET: &str = "whsec_cross_check_5f2b8c1e9d7a4306";

/// Verifies argv[2] (header) for the body in file argv[1] with secret argv[3]:
/// prints the event id and exits 0, or prints the error and exits 3.
const PY_VERIFY: &str = r#"
import sys, stripe
payload = open(sys.argv[1], "rb").read()
try:
    ev = stripe.Webhook.construct_event(payload, sys.argv[2], sys.argv[3], tolerance=300)
except stripe.SignatureVerificationError as e:
    print("refused:", e)
    sys.exit(3)
print(ev["id"])
"#;

/// Prints a header for the body in file argv[1], secret argv[2], timestamp argv[3], made
/// by the library itself.
const PY_SIGN: &str = r#"
import sys, stripe
payload = open(sys.argv[1], "rb").read().decode("utf-8")
secret, ts = sys.argv[2], int(sys.argv[3])
ws = stripe.WebhookSignature
if hasattr(ws, "generate_signature_header"):
    print(ws.generate_signature_header(payload, secret, timestamp=ts))
else:
    print("t=%d,%s=%s" % (ts, ws.EXPECTED_SCHEME, ws._compute_signature("%d.%s" % (ts, payload), secret)))
"#;

fn python_has_stripe() -> bool {
    let ok =
        Command::new("python3").args(["-c", "import stripe"]).output().map(|o| o.status.success()).unwrap_or(false);
    if !ok {
        if std::env::var_os("PRAXIS_REQUIRE_PYTHON_CHECKS").is_some() {
            panic!("PRAXIS_REQUIRE_PYTHON_CHECKS is set but `python3 -c \"import stripe\"` fails");
        }
        eprintln!(
            "note: skipping the stripe-python cross-check (install it with `python3 -m pip install stripe`; \
             set PRAXIS_REQUIRE_PYTHON_CHECKS to make this a failure)"
        );
    }
    ok
}

fn py(script: &str, args: &[&str]) -> (i32, String) {
    let out = Command::new("python3").arg("-c").arg(script).args(args).output().expect("run python3");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let code = out.status.code().unwrap_or(-1);
    assert!(code == 0 || code == 3, "python failed ({code}): {stderr}");
    (code, String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

fn payload() -> String {
    // Realistic, with non-ASCII text and an escaped slash, as Stripe sends it.
    serde_json::json!({
        "id": "evt_3CrossCheck01",
        "object": "event",
        "api_version": "2024-06-20",
        "created": now(),
        "data": {"object": {
            "id": "pi_3CrossCheck01", "object": "payment_intent", "amount": 4200, "amount_received": 4200,
            "currency": "eur", "status": "succeeded", "latest_charge": "ch_3CrossCheck01",
            "description": "Consultation — Zoë Müller, 2/3",
            "metadata": {"invoice": "INV/2026/7"}, "last_payment_error": null
        }},
        "livemode": false,
        "pending_webhooks": 1,
        "request": {"id": null, "idempotency_key": null},
        "type": "payment_intent.succeeded"
    })
    .to_string()
}

#[test]
fn signatures_agree_with_stripe_python() {
    if !python_has_stripe() {
        return;
    }
    let dir = tempdir();
    let body = payload();
    let body_path = dir.join("payload.json");
    std::fs::write(&body_path, &body).unwrap();
    let tampered_path = dir.join("tampered.json");
    std::fs::write(&tampered_path, body.replace("4200", "4201")).unwrap();
    let (body_p, tampered_p) = (body_path.to_str().unwrap(), tampered_path.to_str().unwrap());
    let t = now();

    // Ours → theirs.
    let ours = webhook::sign(body.as_bytes(), SECRET, t);
    let (code, out) = py(PY_VERIFY, &[body_p, &ours, SECRET]);
    assert_eq!((code, out.as_str()), (0, "evt_3CrossCheck01"), "stripe-python refused our header {ours}");
    let (code, out) = py(PY_VERIFY, &[tampered_p, &ours, SECRET]);
    assert_eq!(code, 3, "stripe-python accepted a tampered body: {out}");
    let (code, _) = py(PY_VERIFY, &[body_p, &ours, "whsec_some_other_secret"]);
    assert_eq!(code, 3, "stripe-python accepted the wrong secret");

    // Theirs → ours.
    let (_, theirs) = py(PY_SIGN, &[body_p, SECRET, &t.to_string()]);
    assert!(theirs.starts_with(&format!("t={t},v1=")), "unexpected header from stripe-python: {theirs}");
    assert_eq!(theirs, ours, "the two implementations sign differently");
    let ev = webhook::construct_event(body.as_bytes(), &theirs, SECRET, now()).unwrap();
    assert_eq!(ev.id, "evt_3CrossCheck01");
    let tampered = std::fs::read(&tampered_path).unwrap();
    assert_eq!(
        webhook::verify(&tampered, &theirs, SECRET, now(), webhook::DEFAULT_TOLERANCE_SECS),
        Err(SignatureError::Mismatch)
    );

    // A rolled secret: two v1 entries, either accepted by both.
    let old = py(PY_SIGN, &[body_p, "whsec_previous", &t.to_string()]).1;
    let rolled = format!("{},v1={}", old, ours.split_once(",v1=").unwrap().1);
    assert_eq!(py(PY_VERIFY, &[body_p, &rolled, SECRET]).0, 0);
    assert_eq!(webhook::verify(body.as_bytes(), &rolled, SECRET, now(), 300), Ok(()));

    // Old timestamps are refused by both.
    let stale = webhook::sign(body.as_bytes(), SECRET, t - 3600);
    assert_eq!(py(PY_VERIFY, &[body_p, &stale, SECRET]).0, 3);
    assert_eq!(webhook::verify(body.as_bytes(), &stale, SECRET, now(), 300), Err(SignatureError::Expired));

    let _ = std::fs::remove_dir_all(&dir);
}

fn tempdir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("praxis-stripe-py-{}-{}", std::process::id(), now()));
    std::fs::create_dir_all(&d).unwrap();
    d
}
