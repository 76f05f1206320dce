//! WriterTransport, StdoutTransport and the re-exported StubTransport.

use std::io::{self, Write};

use notify_core::{ErrorKind, Transport};
use notify_smtp::{format_message, StdoutTransport, StubTransport, WriterTransport};

use crate::util::{fixed_notification, notification, run_child_test};

#[tokio::test]
async fn the_writer_gets_exactly_the_formatted_message() {
    let n = fixed_notification();
    let transport = WriterTransport::new(Vec::new());
    let delivery = transport.send(&n).await.unwrap();
    let expected = format_message(&n).unwrap();
    assert_eq!(
        delivery.detail,
        format!("written ({} bytes)", expected.len())
    );
    transport.send(&n).await.unwrap();
    let written = transport.into_inner();
    assert_eq!(written, [expected.clone(), expected].concat());
}

struct FailingWriter;

impl Write for FailingWriter {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::Error::from(io::ErrorKind::BrokenPipe))
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_failing_writer_is_a_permanent_error() {
    let transport = WriterTransport::new(FailingWriter);
    let err = transport.send(&notification()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Permanent);
    assert!(err.to_string().contains("the writer"), "{err}");
    let source = std::error::Error::source(&err).unwrap();
    assert!(source.to_string().contains("roken pipe"), "{source}");
}

#[tokio::test]
async fn a_bad_message_writes_nothing() {
    let transport = WriterTransport::new(Vec::new());
    let n = {
        let mut built = notification();
        built.from = None;
        built
    };
    let err = transport.send(&n).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(transport.into_inner().is_empty());
}

const BEGIN: &str = "\n-----BEGIN STDOUT TRANSPORT-----\n";
const END: &str = "-----END STDOUT TRANSPORT-----\n";

#[test]
fn stdout_transport_prints_the_formatted_message() {
    let out = run_child_test(
        "writer::child_sends_to_stdout",
        &[("NOTIFY_SMTP_TEST_CHILD", "stdout")],
    );
    let stdout = out.stdout;
    let begin = crate::util::find(&stdout, BEGIN.as_bytes()).expect("no begin marker");
    let end = crate::util::find(&stdout, END.as_bytes()).expect("no end marker");
    let printed = &stdout[begin + BEGIN.len()..end];
    assert_eq!(printed, format_message(&fixed_notification()).unwrap());
}

/// Helper for the test above: sends one message to stdout between markers
/// when run as a child.
#[test]
#[ignore = "the body of a child process that the test above starts"]
fn child_sends_to_stdout() {
    if std::env::var("NOTIFY_SMTP_TEST_CHILD").as_deref() != Ok("stdout") {
        panic!("not a test of its own: the test above runs it with NOTIFY_SMTP_TEST_CHILD=stdout");
    }
    let mut stdout = io::stdout();
    stdout.write_all(BEGIN.as_bytes()).unwrap();
    stdout.flush().unwrap();
    let delivery = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(StdoutTransport::new().send(&fixed_notification()))
        .unwrap();
    stdout.write_all(END.as_bytes()).unwrap();
    stdout.flush().unwrap();
    assert!(delivery.detail.starts_with("written to standard output"));
}

#[tokio::test]
async fn the_stub_is_core_s_recording_stub() {
    fn takes_core_stub(stub: notify_core::StubTransport) -> notify_core::StubTransport {
        stub
    }
    let stub = takes_core_stub(StubTransport::new_ok());
    let seen = stub.clone();
    let transport: Box<dyn Transport> = Box::new(stub.clone());
    stub.fail_next(ErrorKind::Temporary, "451 try again later");
    let err = transport.send(&notification()).await.unwrap_err();
    assert!(err.is_transient());
    transport.send(&fixed_notification()).await.unwrap();
    assert_eq!(seen.messages(), vec![notification(), fixed_notification()]);
}
