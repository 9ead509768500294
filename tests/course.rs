//! Checks that span the whole course: the catalogue, the crates, the book and
//! the README agree, and every lesson's demo still plays.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, ensure};
use course::{LESSONS, Scenario};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: impl AsRef<Path>) -> anyhow::Result<String> {
    let path = root().join(path);
    std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))
}

#[test]
fn lessons_are_numbered_in_order_and_their_folders_say_so() -> anyhow::Result<()> {
    for (index, lesson) in LESSONS.iter().enumerate() {
        ensure!(
            usize::from(lesson.number) == index + 1,
            "lesson {} is listed at place {}",
            lesson.number,
            index + 1
        );
        let prefix = format!("crates/{:02}-", lesson.number);
        ensure!(
            lesson.dir.starts_with(&prefix),
            "{} should start with {prefix}",
            lesson.dir
        );
        let manifest = read(format!("{}/Cargo.toml", lesson.dir))?;
        ensure!(
            manifest.contains(&format!("name = \"{}\"", lesson.package)),
            "{}/Cargo.toml should name the package {}",
            lesson.dir,
            lesson.package
        );
    }
    Ok(())
}

#[test]
fn every_lesson_crate_is_in_the_catalogue() -> anyhow::Result<()> {
    let listed: HashSet<&str> = LESSONS.iter().map(|lesson| lesson.dir).collect();
    for entry in std::fs::read_dir(root().join("crates"))? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name == "common" {
            continue;
        }
        ensure!(
            listed.contains(format!("crates/{name}").as_str()),
            "crates/{name} is not in the lesson catalogue (src/catalogue.rs)"
        );
    }
    Ok(())
}

#[test]
fn binaries_exist_and_their_names_are_unique() -> anyhow::Result<()> {
    let mut owners: BTreeMap<String, PathBuf> = BTreeMap::new();
    for entry in std::fs::read_dir(root().join("crates"))? {
        let bin_dir = entry?.path().join("src/bin");
        let Ok(bins) = std::fs::read_dir(&bin_dir) else {
            continue;
        };
        for bin in bins {
            let path = bin?.path();
            let name = path
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            if let Some(other) = owners.insert(name.clone(), path.clone()) {
                anyhow::bail!(
                    "two binaries are called {name}: {} and {}",
                    other.display(),
                    path.display()
                );
            }
        }
    }
    for lesson in LESSONS {
        for bin in [lesson.server, lesson.client] {
            let path = owners
                .get(bin.name)
                .with_context(|| format!("lesson {}: no binary {}", lesson.number, bin.name))?;
            let package_dir = LESSONS
                .iter()
                .find(|other| other.package == bin.package)
                .map(|other| other.dir)
                .with_context(|| format!("no lesson builds the package {}", bin.package))?;
            ensure!(
                path.starts_with(root().join(package_dir)),
                "{} is not in {package_dir}",
                bin.name
            );
        }
    }
    Ok(())
}

#[test]
fn default_ports_let_any_two_servers_run_side_by_side() -> anyhow::Result<()> {
    let mut seen = HashSet::new();
    for lesson in LESSONS {
        ensure!(
            seen.insert((lesson.transport, lesson.port)),
            "lesson {}'s {} port {} is another lesson's too",
            lesson.number,
            lesson.transport,
            lesson.port
        );
        let server = read(format!("{}/src/bin/{}.rs", lesson.dir, lesson.server.name))?;
        ensure!(
            server.contains(&format!("default_value = \"127.0.0.1:{}\"", lesson.port)),
            "{} should default to 127.0.0.1:{} as the catalogue says",
            lesson.server.name,
            lesson.port
        );
    }
    Ok(())
}

#[test]
fn every_lesson_tests_its_own_demo() -> anyhow::Result<()> {
    for lesson in LESSONS {
        Scenario::load(&root().join(lesson.demo()))?;
        let tests = read(format!("{}/tests/e2e.rs", lesson.dir))?;
        ensure!(
            tests.contains("course::play_demo("),
            "{}/tests/e2e.rs should play the demo scenario",
            lesson.dir
        );
    }
    Ok(())
}

#[test]
fn every_lesson_tests_the_contract() -> anyhow::Result<()> {
    for lesson in LESSONS {
        let tests = read(format!("{}/tests/e2e.rs", lesson.dir))?;
        let call = format!("course::keeps_the_contract({}, ", lesson.number);
        ensure!(
            tests.contains(&call),
            "{}/tests/e2e.rs should check the contract with `{call}...)`",
            lesson.dir
        );
    }
    Ok(())
}

#[test]
fn each_client_defaults_to_its_own_lessons_server() -> anyhow::Result<()> {
    for lesson in LESSONS {
        let expected = format!("127.0.0.1:{}", lesson.port);
        let given = lesson
            .client_defaults
            .windows(2)
            .find(|pair| pair[0] == "--addr")
            .map(|pair| pair[1].to_owned());
        let addr = match given {
            Some(addr) => addr,
            None => {
                let owner = LESSONS
                    .iter()
                    .find(|other| other.package == lesson.client.package)
                    .context("no lesson builds the client")?;
                let source = read(format!("{}/src/bin/{}.rs", owner.dir, lesson.client.name))?;
                source
                    .split("default_value = \"")
                    .nth(1)
                    .and_then(|rest| rest.split('"').next())
                    .unwrap_or_default()
                    .to_owned()
            }
        };
        ensure!(
            addr == expected,
            "`make client L={}` would talk to {addr}, but the lesson's server listens on {expected}",
            lesson.number
        );
    }
    Ok(())
}

#[test]
fn the_book_lists_every_lesson_and_every_link_resolves() -> anyhow::Result<()> {
    let summary = read("docs/src/SUMMARY.md")?;
    for lesson in LESSONS {
        let page = lesson
            .page
            .strip_prefix("docs/src/")
            .context("pages live in docs/src")?;
        ensure!(
            summary.contains(&format!("]({page})")),
            "SUMMARY.md does not list {page}"
        );
    }
    let problems = course::book::problems(&root().join("docs"))?;
    ensure!(
        problems.is_empty(),
        "the book has broken parts:\n{}",
        problems.join("\n")
    );
    Ok(())
}

#[test]
fn the_readme_lists_every_lesson() -> anyhow::Result<()> {
    let readme = read("README.md")?;
    for lesson in LESSONS {
        let row = format!(
            "| {} | [{}]({}) |",
            lesson.number, lesson.title, lesson.page
        );
        ensure!(
            readme.contains(&row),
            "README.md should have the row `{row}`"
        );
    }
    Ok(())
}

#[test]
fn lesson_pages_include_real_code() -> anyhow::Result<()> {
    for lesson in LESSONS {
        let page = read(lesson.page)?;
        ensure!(
            page.contains(&format!("{{{{#include ../../../{}/src/bin/", lesson.dir)),
            "{} should include its code from {}/src/bin with {{{{#include}}}}",
            lesson.page,
            lesson.dir
        );
    }
    Ok(())
}
