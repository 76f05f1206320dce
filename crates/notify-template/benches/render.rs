//! Render speed of the default templates with realistic values.
//!
//! Each template is compiled once; rendering appends into buffers that are
//! cleared and reused, as a long-running caller would. Target: under 2 µs
//! for subject + body.
//!
//! `cargo bench -p notify-template --bench render -- --warm-up-time 1 --measurement-time 3`
#![allow(
    clippy::unwrap_used,
    reason = "test, bench and example code unwraps: a panic there says what failed"
)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use notify_template::{
    locale, render_notification, sample_result, Context, Mode, Sources, Template,
};
use time::macros::offset;

fn render(c: &mut Criterion) {
    let result = sample_result();
    for code in ["en", "de"] {
        let Some(locale) = locale(code) else { return };
        let ctx = Context::new(&result, locale, offset!(+1));
        let (Ok(subject), Ok(body)) = (
            Template::compile(locale.default_subject(), &[]),
            Template::compile(locale.default_body(), &[]),
        ) else {
            return;
        };
        let mut subject_buf = String::with_capacity(256);
        let mut body_buf = String::with_capacity(4096);
        c.bench_function(&format!("render/{code}/subject+body"), |b| {
            b.iter(|| {
                subject_buf.clear();
                body_buf.clear();
                subject.render(black_box(&ctx), Mode::Subject, &mut subject_buf);
                body.render(black_box(&ctx), Mode::Text, &mut body_buf);
                black_box((&subject_buf, &body_buf));
            })
        });
        c.bench_function(&format!("render/{code}/body-html"), |b| {
            b.iter(|| {
                body_buf.clear();
                body.render(black_box(&ctx), Mode::Html, &mut body_buf);
                black_box(&body_buf);
            })
        });
        c.bench_function(&format!("compile/{code}/subject+body"), |b| {
            b.iter(|| {
                let subject = Template::compile(black_box(locale.default_subject()), &[]);
                let body = Template::compile(black_box(locale.default_body()), &[]);
                black_box((subject, body))
            })
        });
    }
    if let Some(en) = locale("en") {
        let ctx = Context::new(&result, en, offset!(+1));
        c.bench_function("render_notification/en/defaults", |b| {
            b.iter(|| render_notification(&Sources::default(), black_box(&ctx), &[], 0))
        });
    }
}

criterion_group!(benches, render);
criterion_main!(benches);
