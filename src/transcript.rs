//! A demo's transcript as the book shows it: the lines `make run-lesson`
//! prints, with the port numbers that change from run to run replaced by
//! fixed ones, so that a page can include a real run and a test can tell
//! when the page no longer matches what the demo prints.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, bail};

use crate::{Bins, Lesson, Scenario, Stage};

/// The first line of a demo.
pub fn header(lesson: &Lesson) -> String {
    format!(
        "Lesson {}: {}. {}.",
        lesson.number,
        lesson.title,
        capitalise(lesson.summary)
    )
}

/// The last line of a demo.
pub fn footer(lesson: &Lesson) -> String {
    format!(
        "── the end. Now play both sides yourself: `make server L={n}` in one terminal, \
         `make client L={n}` in another.",
        n = lesson.number
    )
}

/// Where lesson `lesson`'s transcript is kept, relative to the workspace
/// root: `docs/src/transcripts/NN-name.txt`.
pub fn path(lesson: &Lesson) -> String {
    let folder = lesson.dir.rsplit('/').next().unwrap_or(lesson.dir);
    format!("docs/src/transcripts/{folder}.txt")
}

/// Plays lesson `lesson`'s demo quietly and returns its transcript, ports
/// normalised.
pub fn record(root: &Path, lesson: &Lesson, bins: Bins) -> anyhow::Result<String> {
    let scenario = Scenario::load(&root.join(lesson.demo()))?;
    let mut stage = Stage::try_new(bins)?;
    scenario.play(&mut stage)?;
    let mut lines = vec![header(lesson)];
    lines.extend(stage.log().iter().cloned());
    lines.push(footer(lesson));
    let mut text = lines.join("\n");
    // The stage's own folder (`{dir}`) differs from run to run.
    if let Some(dir) = stage.dir_if_made() {
        text = text.replace(&*dir.to_string_lossy(), "/tmp/course");
    }
    Ok(normalise(&text, lesson.port) + "\n")
}

/// Replaces every `127.0.0.1:PORT` (and `[::1]:PORT`) port: the first one
/// seen, the server's, by the lesson's own port, and the others, in order of
/// first appearance, by 50001, 50002, ... as a run on a quiet machine might
/// give.
pub fn normalise(text: &str, server_port: u16) -> String {
    let mut ports: HashMap<String, String> = HashMap::new();
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let found = ["127.0.0.1:", "[::1]:"]
            .iter()
            .filter_map(|prefix| rest.find(prefix).map(|at| (at, prefix.len())))
            .min();
        let Some((at, len)) = found else {
            out.push_str(rest);
            return same_ports_elsewhere(&out, &ports);
        };
        out.push_str(&rest[..at + len]);
        rest = &rest[at + len..];
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        let port = &rest[..digits];
        if digits > 0 && port != "0" {
            let next = match ports.len() {
                0 => server_port.to_string(),
                n => (50_000 + n).to_string(),
            };
            out.push_str(ports.entry(port.to_owned()).or_insert(next));
        } else {
            out.push_str(port);
        }
        rest = &rest[digits..];
    }
}

/// The ports of `IP:PORT` addresses also appear on their own (`port 45532`,
/// a name made from one): each run of digits equal to a port that was
/// renamed (of 4 digits or more, so no small figure is taken for one) is
/// renamed the same way.
fn same_ports_elsewhere(text: &str, ports: &HashMap<String, String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(|c: char| c.is_ascii_digit()) {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        let run = &rest[..digits];
        match ports.get(run) {
            Some(renamed) if digits >= 4 => out.push_str(renamed),
            _ => out.push_str(run),
        }
        rest = &rest[digits..];
    }
    out.push_str(rest);
    out
}

/// Checks that two transcripts tell the same story: each actor's lines (and
/// the narration) in the same order, worded the same. Lines of different
/// actors may interleave differently from one run to the next, when they
/// happened at the same time; within one actor the order is fixed. Digits
/// and the names of days and months are not compared: lesson 7 answers with
/// the time of the run. (The lessons' own tests check their numbers.)
pub fn same_story(expected: &str, actual: &str) -> anyhow::Result<()> {
    let (want, got) = (by_actor(expected), by_actor(actual));
    let mut labels: Vec<&String> = want.keys().chain(got.keys()).collect();
    labels.sort();
    labels.dedup();
    for label in labels {
        let none = Vec::new();
        let (want, got) = (
            want.get(label).unwrap_or(&none),
            got.get(label).unwrap_or(&none),
        );
        let comparable =
            |lines: &Vec<String>| lines.iter().map(|l| timeless(l)).collect::<Vec<_>>();
        if comparable(want) != comparable(got) {
            let at = want.iter().zip(got).take_while(|(a, b)| a == b).count();
            bail!(
                "the lines of {label} differ from line {n}: expected `{}`, the demo printed `{}`",
                want.get(at).map_or("(nothing more)", String::as_str),
                got.get(at).map_or("(nothing more)", String::as_str),
                n = at + 1,
            );
        }
    }
    Ok(())
}

/// A line with each run of digits as one `0`, each run of white space as one
/// space, and the English names of days and months
/// as `*`: what stays the same from one run to the next.
fn timeless(line_in: &str) -> String {
    const NAMES: [&str; 19] = [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    // A run of digits counts as one (a pid or a measured figure may have
    // more digits in one run than in another), and so does a run of spaces
    // (a column of figures, right-aligned, moves with their width).
    let mut line = String::with_capacity(line_in.len());
    for c in line_in.chars() {
        let c = match c {
            c if c.is_ascii_digit() => '0',
            c if c.is_whitespace() => ' ',
            c => c,
        };
        if !(matches!(c, '0' | ' ') && line.ends_with(c)) {
            line.push(c);
        }
    }
    for name in NAMES {
        line = line.replace(name, "*");
        line = line.replace(&name[..3], "*");
    }
    line
}

/// The lines of a transcript grouped by their label (`[server]`, ...;
/// narration and the demo's own lines under `narration`).
fn by_actor(text: &str) -> HashMap<String, Vec<String>> {
    let mut groups: HashMap<String, Vec<String>> = HashMap::new();
    for line in text.lines().filter(|line| !line.trim().is_empty()) {
        let label = match line.split_once("] ") {
            Some((label, _)) if line.starts_with('[') => format!("{label}]"),
            _ => "narration".to_owned(),
        };
        groups.entry(label).or_default().push(line.to_owned());
    }
    groups
}

/// Reads the transcript kept for `lesson` under `root`.
pub fn kept(root: &Path, lesson: &Lesson) -> anyhow::Result<String> {
    let path = root.join(path(lesson));
    std::fs::read_to_string(&path).with_context(|| {
        format!(
            "cannot read {}: make it with `make transcripts`",
            path.display()
        )
    })
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_normalised_in_order_of_appearance() {
        let text = "listening on 127.0.0.1:41234\nfrom 127.0.0.1:55555 to 127.0.0.1:41234\n\
                    [::1]:7 and 127.0.0.1:0 stay 0";
        assert_eq!(
            normalise(text, 8898),
            "listening on 127.0.0.1:8898\nfrom 127.0.0.1:50001 to 127.0.0.1:8898\n\
             [::1]:50002 and 127.0.0.1:0 stay 0"
        );
    }

    #[test]
    fn a_port_named_outside_an_address_is_renamed_the_same_way() {
        let text = "listening on 127.0.0.1:41234\ndrops packets sent to port 41234\n\
                    @echo-41234.stream, 141234 and 4123 stay";
        assert_eq!(
            normalise(text, 9010),
            "listening on 127.0.0.1:9010\ndrops packets sent to port 9010\n\
             @echo-9010.stream, 141234 and 4123 stay"
        );
    }

    #[test]
    fn a_measured_figure_may_change_its_number_of_digits() -> anyhow::Result<()> {
        same_story(
            "[client] 9 of 1000 arrived; it took 0.84 s\n",
            "[client] 812 of 1000 arrived; it took 12.05 s\n",
        )?;
        assert!(same_story("[client] 9 lost\n", "[client] 9 lost, 3 late\n").is_err());
        assert_eq!(timeless("seq 3832954555 ack 7"), "seq 0 ack 0");
        Ok(())
    }

    const LESSON: Lesson = Lesson {
        number: 9,
        title: "Echo",
        summary: "échos come back",
        dir: "crates/09-echo",
        package: "echo",
        server: crate::catalogue::Bin {
            package: "echo",
            name: "echo-server",
        },
        client: crate::catalogue::Bin {
            package: "echo",
            name: "echo-client",
        },
        port: 9999,
        transport: "udp",
        page: "docs/src/lessons/09-echo.md",
    };

    #[test]
    fn a_transcript_opens_and_closes_with_the_lesson_and_lives_by_its_page() {
        assert_eq!(header(&LESSON), "Lesson 9: Echo. Échos come back.");
        assert!(footer(&LESSON).contains("`make server L=9`"));
        assert!(footer(&LESSON).contains("`make client L=9`"));
        assert_eq!(path(&LESSON), "docs/src/transcripts/09-echo.txt");
        assert_eq!(capitalise(""), "");
    }

    #[test]
    fn a_kept_transcript_is_read_or_its_absence_explained() -> anyhow::Result<()> {
        let root = std::env::temp_dir().join(format!("course-transcript-{}", std::process::id()));
        let missing = kept(&root, &LESSON);
        assert!(
            missing.is_err_and(|err| format!("{err:#}").contains("make transcripts")),
            "a missing transcript was read"
        );
        let file = root.join(path(&LESSON));
        std::fs::create_dir_all(file.parent().context("no folder")?)?;
        std::fs::write(&file, "── the story\n")?;
        let read = kept(&root, &LESSON);
        std::fs::remove_dir_all(&root)?;
        assert_eq!(read?, "── the story\n");
        Ok(())
    }

    #[test]
    fn an_address_without_a_port_is_left_alone() {
        assert_eq!(
            normalise("127.0.0.1:x and 127.0.0.1:41234", 8898),
            "127.0.0.1:x and 127.0.0.1:8898"
        );
    }

    #[test]
    fn lines_are_grouped_by_a_leading_label_only() {
        let groups = by_actor("[server] a\nsee [x] here\n\n[client] b\n");
        assert_eq!(groups["[server]"], ["[server] a"]);
        assert_eq!(groups["[client]"], ["[client] b"]);
        assert_eq!(groups["narration"], ["see [x] here"]);
        assert_eq!(groups.len(), 3);
    }

    #[test]
    fn actors_may_interleave_but_not_reorder_their_own_lines() {
        let page = "── one\n[server] a\n[client] x\n[server] b\n";
        assert!(same_story(page, "── one\n[client] x\n[server] a\n[server] b\n").is_ok());
        let swapped = same_story(page, "── one\n[server] b\n[client] x\n[server] a\n");
        assert!(swapped.is_err_and(|err| err.to_string().contains("[server]")));
        let reworded = same_story(page, "── one\n[server] a\n[client] y\n[server] b\n");
        assert!(reworded.is_err_and(|err| err.to_string().contains("`[client] y`")));
        let missing = same_story(page, "── one\n[server] a\n[client] x\n");
        assert!(missing.is_err_and(|err| err.to_string().contains("(nothing more)")));
        assert!(same_story(page, "── two\n[server] a\n[client] x\n[server] b\n").is_err());
        // The time of the run may differ; the words may not.
        let time = "[server] -> it is 13:46 on Thursday, 26 Nov\n";
        assert!(same_story(time, "[server] -> it is 09:05 on Friday, 27 Dec\n").is_ok());
        assert!(same_story(time, "[server] -> it was 13:46 on Thursday, 26 Nov\n").is_err());
    }
}
