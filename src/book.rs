//! Checks that the book is whole without needing mdBook: every page that
//! `SUMMARY.md` lists exists, and every `{{#include file:anchor}}` names a
//! file that exists and, when it names an anchor, an anchor that file has.

use std::path::Path;

use anyhow::Context;

/// Every problem found in the book under `docs` (the folder with
/// `book.toml`), one message each; empty when the book is whole.
pub fn problems(docs: &Path) -> anyhow::Result<Vec<String>> {
    let src = docs.join("src");
    let summary = std::fs::read_to_string(src.join("SUMMARY.md"))
        .with_context(|| format!("cannot read {}", src.join("SUMMARY.md").display()))?;
    let mut problems = Vec::new();
    let mut pages = Vec::new();
    for target in links(&summary) {
        let page = src.join(&target);
        if page.is_file() {
            pages.push(page);
        } else {
            problems.push(format!("SUMMARY.md lists {target}, which does not exist"));
        }
    }
    for page in &pages {
        let text = std::fs::read_to_string(page)?;
        let folder = page.parent().unwrap_or(&src);
        for (line, include) in includes(&text) {
            let place = format!("{}:{line}", page.display());
            // `file`, `file:anchor`, or lines as mdBook writes them:
            // `file:2`, `file:2:10`, `file::10`, `file:2:`.
            let (file, anchor) = match include.split_once(':') {
                Some((file, lines)) if lines.chars().all(|c| c.is_ascii_digit() || c == ':') => {
                    (file, None)
                }
                Some((file, anchor)) => (file, Some(anchor)),
                None => (include.as_str(), None),
            };
            let path = folder.join(file);
            let Ok(source) = std::fs::read_to_string(&path) else {
                problems.push(format!("{place}: includes {file}, which does not exist"));
                continue;
            };
            if let Some(anchor) = anchor {
                let start = format!("ANCHOR: {anchor}");
                let end = format!("ANCHOR_END: {anchor}");
                let has = |marker: &str| {
                    source.lines().any(|l| {
                        l.trim_end().ends_with(marker) && !l.contains(&format!("{marker}_"))
                    })
                };
                if !has(&start) || !has(&end) {
                    problems.push(format!(
                        "{place}: {file} has no anchor `{anchor}` (ANCHOR: {anchor} ... ANCHOR_END: {anchor})"
                    ));
                }
            }
        }
        for image in images(&text) {
            if !image.contains("://") && !folder.join(&image).is_file() {
                problems.push(format!(
                    "{}: shows {image}, which does not exist",
                    page.display()
                ));
            }
        }
    }
    Ok(problems)
}

/// The targets of `[title](target.md)` links.
fn links(markdown: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in markdown.lines() {
        let mut rest = line;
        while let Some(at) = rest.find("](") {
            rest = &rest[at + 2..];
            if let Some(end) = rest.find(')') {
                let target = &rest[..end];
                if target.ends_with(".md") && !target.contains("://") {
                    found.push(target.to_owned());
                }
                rest = &rest[end..];
            }
        }
    }
    found
}

/// The arguments of `{{#include ...}}`, with their line numbers.
fn includes(markdown: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (index, line) in markdown.lines().enumerate() {
        let mut rest = line;
        while let Some(at) = rest.find("{{#include ") {
            rest = &rest[at + "{{#include ".len()..];
            if let Some(end) = rest.find("}}") {
                found.push((index + 1, rest[..end].trim().to_owned()));
                rest = &rest[end..];
            }
        }
    }
    found
}

/// The targets of `![alt](image)` pictures.
fn images(markdown: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in markdown.lines() {
        let mut rest = line;
        while let Some(at) = rest.find("![") {
            rest = &rest[at + 2..];
            let Some(mid) = rest.find("](") else { break };
            rest = &rest[mid + 2..];
            if let Some(end) = rest.find(')') {
                let target = rest[..end].split_whitespace().next().unwrap_or_default();
                found.push(target.to_owned());
                rest = &rest[end..];
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_includes_and_images_are_found() {
        assert_eq!(
            links("- [A](a.md)\n- [B](x/b.md) [web](https://x.md)"),
            ["a.md", "x/b.md"]
        );
        assert_eq!(
            includes("```rust\n{{#include ../../crates/x/src/a.rs:serve}}\n```"),
            [(2, "../../crates/x/src/a.rs:serve".to_owned())]
        );
        assert_eq!(
            images("![the layers](../images/layers.svg \"t\")"),
            ["../images/layers.svg"]
        );
        assert_eq!(
            images("text first, then ![a](a.svg) and ![b](b.svg)"),
            ["a.svg", "b.svg"]
        );
        assert_eq!(
            includes("a {{#include a.rs}} b {{#include b.rs:2}}"),
            [(1, "a.rs".to_owned()), (1, "b.rs:2".to_owned())]
        );
    }

    /// Writes `files` (path, text) under a fresh folder named for the test
    /// (tests run at the same time) and returns it.
    fn book(test: &str, files: &[(&str, &str)]) -> anyhow::Result<std::path::PathBuf> {
        let docs = std::env::temp_dir().join(format!("course-{test}-{}", std::process::id()));
        for (path, text) in files {
            let path = docs.join(path);
            std::fs::create_dir_all(path.parent().context("no folder")?)?;
            std::fs::write(path, text)?;
        }
        Ok(docs)
    }

    #[test]
    fn every_broken_link_include_and_picture_is_reported() -> anyhow::Result<()> {
        let code = "// ANCHOR: serve\nfn serve() {}\n// ANCHOR_END: serve\n\
                    // ANCHOR: half\n// ANCHOR: serve_all\n// ANCHOR_END: serve_all\n";
        let page = "# Page\n\
                    {{#include code.rs}}\n\
                    {{#include code.rs:serve}}\n\
                    {{#include code.rs:2}}\n\
                    {{#include code.rs:missing_anchor}}\n\
                    {{#include code.rs:half}}\n\
                    {{#include nothing.rs}}\n\
                    ![here](picture.svg) ![gone](lost.svg \"t\") ![web](https://x.org/y.svg)\n";
        let docs = book(
            "broken-book",
            &[
                (
                    "src/SUMMARY.md",
                    "- [Page](page.md)\n- [Gone](gone.md)\n- [Web](https://x.org/a.md)\n",
                ),
                ("src/page.md", page),
                ("src/code.rs", code),
                ("src/picture.svg", "<svg/>"),
            ],
        )?;
        let found = problems(&docs);
        std::fs::remove_dir_all(&docs)?;
        let page = docs.join("src/page.md").display().to_string();
        assert_eq!(
            found?,
            [
                "SUMMARY.md lists gone.md, which does not exist".to_owned(),
                format!(
                    "{page}:5: code.rs has no anchor `missing_anchor` \
                     (ANCHOR: missing_anchor ... ANCHOR_END: missing_anchor)"
                ),
                format!(
                    "{page}:6: code.rs has no anchor `half` (ANCHOR: half ... ANCHOR_END: half)"
                ),
                format!("{page}:7: includes nothing.rs, which does not exist"),
                format!("{page}: shows lost.svg, which does not exist"),
            ]
        );
        Ok(())
    }

    #[test]
    fn a_whole_book_has_no_problems_and_a_missing_summary_is_an_error() -> anyhow::Result<()> {
        let docs = book(
            "whole-book",
            &[
                ("src/SUMMARY.md", "- [Page](page.md)\n"),
                (
                    "src/page.md",
                    "{{#include page.md}}\n{{#include page.md:1:2}}\n{{#include page.md::2}}\n\
                     {{#include page.md:2:}}\n",
                ),
            ],
        )?;
        let whole = problems(&docs);
        std::fs::remove_file(docs.join("src/SUMMARY.md"))?;
        let without_summary = problems(&docs);
        std::fs::remove_dir_all(&docs)?;
        assert_eq!(whole?, Vec::<String>::new());
        assert!(without_summary.is_err());
        Ok(())
    }
}
