//! The guided flow at a real terminal: `mailtls apply` runs in a tmux pane
//! against a private Postfix and is answered key by key. The screen must show
//! the findings, the diff and the before/after table, and the server must end
//! up hardened; a failed verification must say what failed and that it was
//! rolled back.

use std::path::Path;

use crate::support::{openssl_accepts, self_signed, KeyKind, Pane, Postfix};

fn mailtls(state: &Path, args: &str) -> String {
    format!(
        "'{}' --state-dir '{}' {args}",
        env!("CARGO_BIN_EXE_mailtls"),
        state.display()
    )
}

#[test]
fn guided_apply_at_a_terminal_shows_findings_diff_and_a_before_after_table() {
    let pf = Postfix::new();
    pf.start();
    let state = pf.root.path().join("state");
    let (new_cert, new_key) = self_signed(pf.root.path(), "new", KeyKind::EcdsaP256);
    let pane = Pane::start(
        "ok",
        &mailtls(&state, &format!("apply --config '{}'", pf.config_dir.display())),
    );

    // What runs here and how it answers today.
    let screen = pane.wait_for("Profile", 1);
    assert!(
        screen.contains("What runs here") && screen.contains("postfix"),
        "{screen}"
    );
    assert!(
        screen.contains("How the TLS listeners answer today") && screen.contains("lowest TLSv1.0"),
        "{screen}"
    );
    assert!(screen.contains("MEDIUM: TLSv1.0 is accepted"), "{screen}");
    pane.keys(&["Enter"]); // intermediate, the default

    // A path that does not exist is refused and asked again; then the new ECDSA pair.
    pane.wait_for("Another certificate: type its paths", 1);
    pane.keys(&["k", "Enter"]); // up from the first item wraps to the last: type paths
    pane.wait_for("Certificate file", 1);
    pane.text("/nonexistent/cert.pem");
    pane.keys(&["Enter"]);
    pane.wait_for("Private key file", 1);
    pane.text("/nonexistent/key.pem");
    pane.keys(&["Enter"]);
    pane.wait_for("choose again", 1);
    pane.wait_until("the certificate question again", |s| {
        s.split("choose again")
            .nth(1)
            .is_some_and(|after| after.contains("Another certificate"))
    });
    pane.keys(&["k", "Enter"]);
    pane.wait_for("Certificate file", 2);
    pane.text(&new_cert.display().to_string());
    pane.keys(&["Enter"]);
    pane.wait_for("Private key file", 2);
    pane.text(&new_key.display().to_string());
    pane.keys(&["Enter"]);

    // The diff, one confirmation.
    let screen = pane.wait_for("Apply these changes?", 1);
    assert!(screen.contains("+smtpd_tls_protocols = >=TLSv1.2"), "{screen}");
    assert!(
        screen.contains(&format!("smtpd_tls_cert_file = {}", new_cert.display())),
        "{screen}"
    );
    pane.keys(&["y"]);

    let (code, screen) = pane.finish();
    assert_eq!(code, 0, "{screen}");
    let table = screen.split("Before and after").nth(1).expect(&screen);
    println!("--- the before/after table at the terminal:{table}");
    let row = |label: &str| {
        table
            .lines()
            .find(|l| l.trim_start().starts_with(label))
            .unwrap_or_else(|| panic!("no {label} row:\n{table}"))
            .to_string()
    };
    let protocols = row("protocols");
    assert!(protocols.contains("TLSv1.0 TLSv1.1 TLSv1.2 TLSv1.3"), "{table}");
    assert!(protocols.trim_end().ends_with("   TLSv1.2 TLSv1.3"), "{table}");
    assert!(
        row("certificate").contains("RSA 2048") && row("certificate").contains("ECDSA"),
        "{table}"
    );
    assert!(row("weakest suite").trim_end().ends_with("(TLSv1.2)"), "{table}");

    // An independent client agrees.
    assert!(
        !openssl_accepts(pf.port, "smtp", "-tls1", None),
        "TLS 1.0 refused after apply"
    );
    assert!(openssl_accepts(pf.port, "smtp", "-tls1_2", None));
}

#[test]
fn guided_apply_says_what_failed_and_that_it_rolled_back() {
    let pf = Postfix::new();
    pf.start();
    let state = pf.root.path().join("state");
    let before = std::fs::read(pf.config_dir.join("main.cf")).unwrap();
    // A "reload" that puts the stock main.cf back first: the server keeps TLS 1.0 and verification fails.
    let stock = pf.root.path().join("main.cf.stock");
    std::fs::copy(pf.config_dir.join("main.cf"), &stock).unwrap();
    let sabotage = pf.root.path().join("sabotage.sh");
    let d = pf.config_dir.display();
    std::fs::write(
        &sabotage,
        format!("cp {} {d}/main.cf\npostfix -c {d} reload\n", stock.display()),
    )
    .unwrap();
    let pane = Pane::start(
        "fail",
        &mailtls(
            &state,
            &format!(
                "apply --profile intermediate --reload-command 'sh {}' --config '{d}'",
                sabotage.display()
            ),
        ),
    );
    pane.wait_for("Keep the current certificate", 1);
    pane.keys(&["Enter"]);
    pane.wait_for("Apply these changes?", 1);
    pane.keys(&["y"]);
    let (code, screen) = pane.finish();
    assert_eq!(code, 3, "{screen}");
    assert!(screen.contains("Verification failed:"), "{screen}");
    assert!(screen.contains("TLSv1.0 is accepted"), "{screen}");
    assert!(screen.contains("mailtls rolled the change back"), "{screen}");
    assert!(
        !screen.contains("? Profile"),
        "--profile given: no profile question\n{screen}"
    );
    assert_eq!(std::fs::read(pf.config_dir.join("main.cf")).unwrap(), before);
}
