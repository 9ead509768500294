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
            let (file, anchor) = match include.rsplit_once(':') {
                Some((file, anchor)) if !anchor.chars().all(|c| c.is_ascii_digit() || c == '-') => {
                    (file, Some(anchor))
                }
                Some((file, _lines)) => (file, None),
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
    }
}
