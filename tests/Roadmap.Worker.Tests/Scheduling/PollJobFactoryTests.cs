using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Quartz;
using Quartz.Extensibility;
using Roadmap.Core.Config;
using Roadmap.Sources;
using Roadmap.Storage.Sqlite;
using Roadmap.Worker.Hosting;
using Roadmap.Worker.Scheduling;

namespace Roadmap.Worker.Tests.Scheduling;

public sealed class PollJobFactoryTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task CreateJob_PollFirings_ShareOneJobAndOtherJobsAreBuiltPerFiring()
    {
        var loaded = new ConfigLoader(SourceKinds.All).Load(
            """
            roadmap: { name: Factory }
            sources:
              - { id: web, kind: http, url: "http://127.0.0.1:9/", every: 1h }
            """,
            "factory.yaml");
        Assert.Empty(loaded.Errors);
        var database = RoadmapDatabase.Open(_dir.File("roadmap.db"));
        await using var app = RoadmapApp.Build(new RunOptions { Urls = "http://127.0.0.1:0" }, loaded.Config!, database);
        var factory = new PollJobFactory(app.Services, Options.Create(new JobFactoryOptions()), NullLoggerFactory.Instance);
        var scheduler = await app.Services.GetRequiredService<ISchedulerFactory>().GetScheduler();

        var first = await factory.CreateJob(Bundle(JobBuilder.Create<PollJob>().WithIdentity("a", PollJob.Group).Build()), scheduler, CancellationToken.None);
        var second = await factory.CreateJob(Bundle(JobBuilder.Create<PollJob>().WithIdentity("b", PollJob.Group).Build()), scheduler, CancellationToken.None);
        Assert.IsType<PollJob>(first.Job);
        Assert.Same(first.Job, second.Job);
        // Returning the shared job disposes nothing: the next firing gets it again.
        await factory.ReturnJob(first, CancellationToken.None);
        var third = await factory.CreateJob(Bundle(JobBuilder.Create<PollJob>().WithIdentity("a", PollJob.Group).Build()), scheduler, CancellationToken.None);
        Assert.Same(first.Job, third.Job);

        // Any other job is built as Quartz builds it, a new one per firing.
        var evaluate = JobBuilder.Create<EvaluateJob>().WithIdentity("evaluate").Build();
        var e1 = await factory.CreateJob(Bundle(evaluate), scheduler, CancellationToken.None);
        var e2 = await factory.CreateJob(Bundle(evaluate), scheduler, CancellationToken.None);
        Assert.IsType<EvaluateJob>(e1.Job);
        Assert.NotSame(e1.Job, e2.Job);
        await factory.ReturnJob(e1, CancellationToken.None);
        await factory.ReturnJob(e2, CancellationToken.None);
    }

    private static TriggerFiredBundle Bundle(IJobDetail job)
    {
        var now = DateTimeOffset.UtcNow;
        var trigger = (IOperableTrigger)TriggerBuilder.Create().ForJob(job).StartAt(now).Build();
        return new TriggerFiredBundle { JobDetail = job, Trigger = trigger, Recovering = false, FireTimeUtc = now, ScheduledFireTimeUtc = now, PreviousFireTimeUtc = null, NextFireTimeUtc = null };
    }
}
