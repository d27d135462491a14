//! How long a template takes to be answered (issue 24, "Templates bounded"): handlebars' own
//! parser on `{{#if}}` blocks in a row, which takes time growing with the square of their
//! count (it finds each tag's line from the start of the text), beside f3s's renderer, which
//! refuses a template past its bounds before handlebars parses it and renders the worst one
//! within them (its tags all after 64 KiB of text):
//!
//!     cargo run --release --example template_bounds
//!
//! A benchmark, not a test: it asserts nothing.

use std::time::{Duration, Instant};

use f3s::module::template::Renderer;
use f3s::source::{Origin, SourceFile};
use handlebars::Context;
use serde_json::json;

const BLOCK: &str = "{{#if a}}x{{/if}}";

fn timed<T>(run: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let result = run();
    (result, start.elapsed())
}

fn main() {
    println!("handlebars' parser alone:");
    for blocks in [1_000, 2_000, 4_000] {
        let text = BLOCK.repeat(blocks);
        let (_, took) = timed(|| handlebars::template::Template::compile(&text));
        println!("  {blocks:>6} blocks  {took:>10.2?}");
    }
    println!("f3s's renderer:");
    let context = Context::from(json!({ "a": true }));
    let file = SourceFile::new("module.yml", "");
    let origin = Origin::whole(&file);
    let filler = "x".repeat(64 * 1024 - 250 * BLOCK.len() - 1);
    for (what, text) in [
        ("20,000 blocks", BLOCK.repeat(20_000)),
        ("250 blocks after 60 KiB", filler + &BLOCK.repeat(250)),
    ] {
        let renderer = Renderer::default();
        let (result, took) = timed(|| renderer.inline(&text, &origin, &context, false));
        let answer = match result {
            Ok(rendered) => format!("rendered, {} bytes", rendered.len()),
            Err(error) => format!("refused: {error}"),
        };
        println!("  {what:<24} {took:>10.2?}  {answer}");
    }
}
