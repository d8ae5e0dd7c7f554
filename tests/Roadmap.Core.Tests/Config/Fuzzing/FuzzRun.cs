using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Roadmap.Core.Tests.Config.Fuzzing;

/// <summary>
/// A bounded, replayable fuzz run. Case i is generated from a <see cref="Random"/> seeded with (seed, i), so one case
/// can be replayed alone: the failure message names ROADMAP_FUZZ_SEED and ROADMAP_FUZZ_CASE. By default (CI) a run
/// does exactly <c>cases</c> cases, the same ones every time, and fails when they do not fit in <c>limit</c>; with
/// ROADMAP_FUZZ_SECONDS set it keeps generating new cases for that many seconds (at least <c>cases</c>), for a long
/// local run. Cases run on a thread with a 1 MiB stack (what a thread-pool thread gets), so an unbounded recursion
/// shows here; a case that runs longer than <see cref="CaseTimeout"/> fails the run as a hang.
/// </summary>
/// <remarks>This file is compiled into Roadmap.Sources.Tests too (a linked file), so both use one runner.</remarks>
internal static class FuzzRun
{
    /// <summary>The seed CI uses; set ROADMAP_FUZZ_SEED to explore others.</summary>
    public const int DefaultSeed = 20_260_701;

    /// <summary>How long one case may run before it counts as a hang.</summary>
    public static readonly TimeSpan CaseTimeout = TimeSpan.FromSeconds(10);

    private const int StackBytes = 1024 * 1024;

    /// <summary>The seed of this run: ROADMAP_FUZZ_SEED, else <see cref="DefaultSeed"/>.</summary>
    public static int Seed => Environment.GetEnvironmentVariable("ROADMAP_FUZZ_SEED") is { Length: > 0 } s
        ? int.Parse(s, CultureInfo.InvariantCulture)
        : DefaultSeed;

    /// <summary>
    /// Runs the cases. <paramref name="generate"/> makes case i's input from its own <see cref="Random"/>;
    /// <paramref name="check"/> throws (an assertion) when the outcome is wrong. Returns how many cases ran.
    /// </summary>
    public static int Run(string name, int cases, TimeSpan limit, Func<Random, string> generate, Action<string> check)
    {
        var seed = Seed;
        var minCases = cases;
        var budget = TimeSpan.Zero;
        if (Environment.GetEnvironmentVariable("ROADMAP_FUZZ_SECONDS") is { Length: > 0 } seconds)
        {
            budget = TimeSpan.FromSeconds(double.Parse(seconds, CultureInfo.InvariantCulture));
            limit = budget + limit;
        }

        // Replay: only the named case.
        int? only = Environment.GetEnvironmentVariable("ROADMAP_FUZZ_CASE") is { Length: > 0 } c
            ? int.Parse(c, CultureInfo.InvariantCulture)
            : null;

        var done = 0;
        var current = -1;
        var currentInput = "";
        long caseStarted = 0;
        Exception? failure = null;
        var started = Stopwatch.GetTimestamp();
        var worker = new Thread(
            () =>
            {
                for (var i = only ?? 0; ; i++)
                {
                    var elapsed = Stopwatch.GetElapsedTime(started);
                    if (only is not null ? i > only : (done >= minCases && elapsed >= budget) || elapsed >= limit)
                    {
                        return;
                    }

                    Volatile.Write(ref currentInput, "(not generated yet)");
                    Volatile.Write(ref caseStarted, Stopwatch.GetTimestamp());
                    Volatile.Write(ref current, i);
                    try
                    {
                        var input = generate(new Random(CaseSeed(seed, i, name)));
                        Volatile.Write(ref currentInput, input);
                        check(input);
                    }
#pragma warning disable CA1031 // Every exception is a finding: it is reported with the case that raised it.
                    catch (Exception e)
#pragma warning restore CA1031
                    {
                        failure = e;
                        return;
                    }

                    Interlocked.Increment(ref done);
                }
            },
            StackBytes)
        {
            IsBackground = true,
            Name = $"fuzz {name}",
        };
        worker.Start();
        while (!worker.Join(200))
        {
            var at = Volatile.Read(ref caseStarted);
            if (at != 0 && Volatile.Read(ref current) >= 0 && Stopwatch.GetElapsedTime(at) > CaseTimeout)
            {
                // The thread cannot be stopped; it is a background thread, so it does not keep the test host alive.
                Assert.Fail(Describe(name, seed, Volatile.Read(ref current), Volatile.Read(ref currentInput), $"hang: the case ran longer than {CaseTimeout.TotalSeconds} s"));
            }
        }

        if (failure is not null)
        {
            Assert.Fail(Describe(name, seed, current, currentInput, failure.ToString()));
        }

        if (only is null)
        {
            Assert.True(done >= minCases, $"fuzz {name}: only {done} of {minCases} cases ran within {limit.TotalSeconds} s (seed {seed})");
        }

        return done;
    }

    /// <summary>Stable across processes (HashCode is not): FNV-1a over the run's seed, the case and the fuzzer's name.</summary>
    private static int CaseSeed(int seed, int index, string name)
    {
        var h = 2_166_136_261u;
        foreach (var b in BitConverter.GetBytes(seed).Concat(BitConverter.GetBytes(index)).Concat(Encoding.UTF8.GetBytes(name)))
        {
            h = (h ^ b) * 16_777_619u;
        }

        return unchecked((int)h);
    }

    private static string Describe(string name, int seed, int index, string input, string what) =>
        $"""
        fuzz {name}: case {index} failed. Replay it alone with ROADMAP_FUZZ_SEED={seed} ROADMAP_FUZZ_CASE={index}.
        input ({input.Length} chars, C#-escaped{(input.Length > 4000 ? ", first 4000" : "")}):
        {Escape(input.Length > 4000 ? input[..4000] : input)}
        {what}
        """;

    /// <summary>The input as a C# string literal's content, so it can be pasted into a regression test.</summary>
    public static string Escape(string s)
    {
        var sb = new StringBuilder();
        foreach (var ch in s)
        {
            sb.Append(ch switch
            {
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                '"' => "\\\"",
                '\\' => "\\\\",
                _ when ch < ' ' || ch > '~' => $"\\u{(int)ch:x4}",
                _ => ch.ToString(),
            });
        }

        return sb.ToString();
    }
}
