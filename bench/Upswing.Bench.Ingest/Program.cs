using System.Runtime.InteropServices;
using Upswing.Bench.Ingest;

// Verbs: send (load generator), raw-sqlite / raw-postgres (the physical limit), verify (crash-safety check).
// See bench/load/README.md; the scripts bench/load/ingest.sh and bench/load/crash-safety.sh drive it.
if (args.Length == 0 || args[0] is "-h" or "--help")
{
    Console.Error.WriteLine("""
        Usage: Upswing.Bench.Ingest <verb> [options]
          send --url http://127.0.0.1:PORT --key us_ck_… --prefix P [--batch 100] [--concurrency 16]
               [--events N] [--duration SECONDS] [--acks FILE]
               (runs until N events are acknowledged, the time is up, or SIGTERM)
               Posts Segment /v1/batch requests with several in flight; retries a failed batch (same message ids)
               until it is acknowledged or the time is up; writes every acknowledged message id to --acks.
          raw-sqlite --schema-from upswing.db --rows N [--dir DIR]
               Inserts the same rows into an identical table in a new SQLite file: one transaction, one prepared
               statement, WAL, synchronous=FULL.
          raw-postgres --database "Host=…" --rows N [--indexes same|none]
               Binary COPY of the same rows into a table LIKE events, with its indexes (same) or none.
          verify --acks FILE --prefix P (--sqlite upswing.db | --database "Host=…")
               Counts acknowledged, found, missing and duplicated message ids; exit code 1 unless both are 0.
        """);
    return 2;
}

var options = Options.Parse(args.Skip(1));
using var cancel = new CancellationTokenSource();
// SIGTERM or Ctrl-C ends a run cleanly: `send` stops sending and still writes what was acknowledged.
using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);

return args[0] switch
{
    "send" => await LoadGenerator.RunAsync(options, cancel.Token),
    "raw-sqlite" => await RawInsert.SqliteAsync(options, cancel.Token),
    "raw-postgres" => await RawInsert.PostgresAsync(options, cancel.Token),
    "verify" => await AckVerifier.RunAsync(options, cancel.Token),
    _ => Fail($"unknown verb '{args[0]}'"),
};

void Stop(PosixSignalContext context)
{
    context.Cancel = true;
    cancel.Cancel();
}

static int Fail(string message)
{
    Console.Error.WriteLine(message);
    return 2;
}
