//! Lesson 10 end to end: in the lab, UDP loses about the share asked and
//! TCP loses nothing but pays for it in retransmissions; with no loss, both
//! deliver everything. The lab also works for an ordinary user, and says
//! why when the kernel refuses to make it.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, ensure};
use course::{Stage, bins};

fn stage() -> Stage {
    let mut stage = Stage::new(bins!["loss-lab-server", "loss-lab-client"]);
    // A lost SYN waits 1 s, a segment lost again and again waits 0.2, 0.4,
    // 0.8 s...: every wait is bounded, generously.
    stage.set_deadline(Duration::from_secs(60));
    stage
}

/// The figures one run printed.
struct Run {
    /// Datagrams that passed the firewall: arrived, or dropped for a full
    /// receive buffer (which a busy machine may cause).
    udp_arrived: u64,
    tcp_verdict: String,
    sent: u64,
    again: u64,
}

/// The numbers in `line`, in order.
fn numbers(line: &str) -> Vec<u64> {
    line.split(|c: char| !c.is_ascii_digit())
        .filter_map(|word| word.parse().ok())
        .collect()
}

/// Starts a server dropping `loss` of the packets and a client sending
/// `count` datagrams and `messages` TCP messages; returns what they said.
fn run(loss: &str, count: u32, messages: u32) -> anyhow::Result<Run> {
    let mut stage = stage();
    stage.serve("server", format!("loss-lab-server --loss {loss}").as_str())?;
    let lab = stage.seen("server", "lab: a private network of process ")?;
    let pid = numbers(&lab).first().copied().context("no pid")?;
    stage.start(
        "client",
        format!(
            "loss-lab-client --addr {} --lab {pid} --count {count} --messages {messages}",
            stage.var("server").context("no address")?
        )
        .as_str(),
    )?;
    stage.expect("client", &format!("joined the lab of process {pid}"))?;
    let says = stage.expect("client", "udp: the server says ")?;
    let udp = numbers(&says);
    ensure!(udp.get(1) == Some(&u64::from(count)), "{says}");
    // A datagram dropped for a full buffer had passed the lab's firewall:
    // counted with those that arrived, they are what the loss let through.
    let overflows = numbers(&stage.expect("client", "udp: dropped by the kernel for a full")?);
    let verdict = stage.expect("client", "tcp: the server ")?;
    let kernel = numbers(&stage.expect("client", "tcp: the lab's kernel sent ")?);
    stage.exit("client", 0)?;
    Ok(Run {
        udp_arrived: udp[0] + overflows[0],
        tcp_verdict: verdict,
        sent: kernel[0],
        again: kernel[1],
    })
}

#[test]
fn the_demo_plays() -> anyhow::Result<()> {
    course::play_demo(
        env!("CARGO_MANIFEST_DIR"),
        bins!["loss-lab-server", "loss-lab-client"],
    )
}

#[test]
fn at_20_percent_udp_loses_about_a_fifth_and_tcp_nothing_but_retransmits() -> anyhow::Result<()> {
    let run = run("0.2", 1000, 60)?;
    // Each datagram arrives with probability 0.8, independently: the count
    // is binomial, mean 800, standard deviation sqrt(1000 * 0.8 * 0.2) =
    // 12.6. The kernel's random choice cannot be seeded, so the bound is
    // wide: 5 standard deviations, exceeded once in 1.7 million runs.
    ensure!(
        (737..=863).contains(&run.udp_arrived),
        "{} of 1000 datagrams arrived at 20% loss: outside 800 +- 63",
        run.udp_arrived
    );
    ensure!(
        run.tcp_verdict
            .contains("received 60 messages in order, 60000 bytes"),
        "{}",
        run.tcp_verdict
    );
    // 60 messages of 1000 bytes are at least 42 data segments: the chance
    // that none is lost is below 0.8^42 = 8e-5; with the handshake, the
    // close and the segments that retransmissions split, far below.
    ensure!(
        run.again > 0,
        "no retransmission at 20% loss ({} segments)",
        run.sent
    );
    Ok(())
}

#[test]
fn with_no_loss_everything_arrives_and_nothing_is_sent_twice() -> anyhow::Result<()> {
    let run = run("0", 1000, 60)?;
    ensure!(run.udp_arrived == 1000, "{} of 1000", run.udp_arrived);
    ensure!(
        run.tcp_verdict
            .contains("received 60 messages in order, 60000 bytes"),
        "{}",
        run.tcp_verdict
    );
    ensure!(run.again == 0, "{} retransmissions with no loss", run.again);
    ensure!(run.sent >= 42, "only {} segments for 60000 bytes", run.sent);
    Ok(())
}

#[test]
fn a_client_with_no_lab_to_join_says_so() -> anyhow::Result<()> {
    let mut stage = stage();
    // Port 9 (discard) on 127.0.0.1: no lab listens there.
    stage.start("client", "loss-lab-client --addr 127.0.0.1:9")?;
    stage.expect(
        "client",
        "error: no lab of yours has a udp socket on 127.0.0.1:9",
    )?;
    stage.expect(
        "client",
        "hint: start the server first, in another terminal: `make server L=10`",
    )?;
    stage.exit("client", 1)
}

#[test]
fn a_loss_out_of_range_is_refused() -> anyhow::Result<()> {
    let mut stage = stage();
    stage.start("server", "loss-lab-server --loss 2")?;
    stage.expect("server", "is not a share between 0 and 0.9")?;
    stage.exit("server", 2)
}

/// Where `unshare` is, to run a program in a user namespace of its own.
/// Where the kernel refuses to make a user namespace, the server says so
/// in one error line and a hint, and fails. Made real, not faked: inside a
/// user namespace whose limit on further user namespaces is 0, as
/// `sysctl user.max_user_namespaces=0` makes a whole machine.
#[test]
fn where_the_kernel_refuses_namespaces_the_server_says_what_to_do() -> anyhow::Result<()> {
    let Some(unshare) = course::nobody::system_tool("unshare") else {
        eprintln!("skipped: no unshare (util-linux) to make a namespace without user namespaces");
        return Ok(());
    };
    let server = env!("CARGO_BIN_EXE_loss-lab-server");
    let output = Command::new(unshare)
        .args(["--user", "--map-root-user", "sh", "-c"])
        .arg("echo 0 > /proc/sys/user/max_user_namespaces && exec \"$0\" --addr 127.0.0.1:0")
        .arg(server)
        .output()?;
    let errors = String::from_utf8_lossy(&output.stderr);
    if errors.contains("unshare failed") || errors.contains("Permission denied") {
        eprintln!("skipped: this machine cannot make the namespace the test needs: {errors}");
        return Ok(());
    }
    ensure!(
        output.status.code() == Some(1),
        "{}: {errors}",
        output.status
    );
    let lines: Vec<&str> = errors.lines().collect();
    ensure!(lines.len() == 2, "expected an error and a hint: {errors}");
    ensure!(
        lines[0].starts_with("error: cannot make a private network (unshare): ")
            && lines[0].contains("limit on user namespaces"),
        "{errors}"
    );
    ensure!(
        lines[1].starts_with("hint: ") && lines[1].contains("user.max_user_namespaces"),
        "{errors}"
    );
    ensure!(output.stdout.is_empty(), "it printed a ready line anyway");
    Ok(())
}

/// Without iptables the server cannot drop packets, and says how to
/// install it. Made real: in a mount namespace of the test's own, every
/// iptables is covered by /dev/null.
#[test]
fn without_iptables_the_server_says_how_to_install_it() -> anyhow::Result<()> {
    let Some(unshare) = course::nobody::system_tool("unshare") else {
        eprintln!("skipped: no unshare (util-linux) to hide iptables");
        return Ok(());
    };
    let server = env!("CARGO_BIN_EXE_loss-lab-server");
    let output = Command::new(unshare)
        .args(["--user", "--map-root-user", "--mount", "sh", "-c"])
        .arg(
            "for f in /usr/sbin/iptables /sbin/iptables /usr/bin/iptables /bin/iptables; do \
               if [ -e $f ]; then mount --bind /dev/null $f || exit 99; fi; done; \
             exec env PATH=/usr/bin:/bin \"$0\" --addr 127.0.0.1:0 --loss 0.2",
        )
        .arg(server)
        .output()?;
    let errors = String::from_utf8_lossy(&output.stderr);
    if output.status.code() == Some(99) || errors.contains("unshare failed") {
        eprintln!("skipped: this machine cannot hide iptables in a namespace: {errors}");
        return Ok(());
    }
    ensure!(
        output.status.code() == Some(1),
        "{}: {errors}",
        output.status
    );
    ensure!(
        errors.starts_with("error: cannot drop packets: iptables is not installed\nhint: "),
        "{errors}"
    );
    ensure!(errors.contains("apt-get install iptables"), "{errors}");
    ensure!(output.stdout.is_empty(), "it printed a ready line anyway");
    Ok(())
}

/// The lab as a learner runs it, not as root: uid 65534 (nobody), with no
/// capability at all, runs the server and the client, and the losses
/// happen. Only root can switch to that user; anyone else already runs the
/// other tests unprivileged, and this test says so rather than pass in
/// silence.
#[test]
fn an_ordinary_user_runs_the_lab() -> anyhow::Result<()> {
    let bins = [
        ("loss-lab-server", env!("CARGO_BIN_EXE_loss-lab-server")),
        ("loss-lab-client", env!("CARGO_BIN_EXE_loss-lab-client")),
    ];
    let Some(nobody) = course::Nobody::new("loss-lab", &bins)? else {
        return Ok(());
    };
    let mut stage = Stage::new(nobody.bins());
    stage.set_deadline(Duration::from_secs(60));
    stage.serve(
        "server",
        format!("{} --loss 0.2", nobody.command("loss-lab-server")).as_str(),
    )?;
    let lab = stage.seen("server", "lab: a private network of process ")?;
    let pid = numbers(&lab).first().copied().context("no pid")?;
    let owner = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    ensure!(
        owner
            .lines()
            .any(|line| line.starts_with("Uid:") && line.contains("65534")),
        "the server does not run as uid 65534"
    );
    stage.start(
        "client",
        format!(
            "{} --addr {} --count 1000 --messages 60",
            nobody.command("loss-lab-client"),
            stage.var("server").context("no address")?
        )
        .as_str(),
    )?;
    let says = numbers(&stage.expect("client", "udp: the server says ")?);
    ensure!(
        (737..=863).contains(&says[0]),
        "{} of 1000 arrived",
        says[0]
    );
    stage.expect("client", "received 60 messages in order")?;
    stage.exit("client", 0)
}

/// The legacy iptables (Debian's `iptables-legacy`) takes a lock in /run,
/// which an ordinary user cannot write: the lab gives it a lock file of its
/// own. Checked as uid 65534 with the legacy iptables first on the PATH,
/// where root can switch users and the legacy iptables is installed.
#[test]
fn an_ordinary_user_drops_packets_with_the_legacy_iptables_too() -> anyhow::Result<()> {
    let legacy = Path::new("/usr/sbin/iptables-legacy");
    if !legacy.is_file() {
        eprintln!("skipped: no /usr/sbin/iptables-legacy");
        return Ok(());
    }
    let bins = [("loss-lab-server", env!("CARGO_BIN_EXE_loss-lab-server"))];
    let Some(nobody) = course::Nobody::new("loss-lab-legacy", &bins)? else {
        return Ok(());
    };
    std::os::unix::fs::symlink(legacy, nobody.folder().join("iptables"))?;
    let mut stage = Stage::new(nobody.bins());
    stage.serve(
        "server",
        format!(
            "PATH={}:/usr/bin:/bin {} --loss 0.2",
            nobody.folder().display(),
            nobody.command("loss-lab-server")
        )
        .as_str(),
    )?;
    stage.seen("server", "iptables drops 20% of the packets sent to port")?;
    stage.interrupt("server")?;
    stage.exit("server", 0)
}
