using Shortlink.Infrastructure;

namespace Shortlink.Features.Analytics;

/// <summary>
/// Takes visits out of the recorder's buffer in batches and hands each batch on: to the database (embedded) or to
/// RabbitMQ (queued). Each of the reader's Concurrency loops takes a batch out only when its previous one is done, so
/// while the destination is away the visits wait in the buffer, which drops and counts what does not fit. When the
/// service stops, the buffer is closed and what it holds is handed on within Visits:ShutdownSeconds; the rest is
/// counted as dropped.
/// </summary>
internal abstract class VisitBufferReader(VisitRecorder recorder, VisitOptions options, ILogger logger) : BackgroundService
{
    protected VisitRecorder Recorder => recorder;

    /// <summary>Whether this instance's configuration gives this reader a job.</summary>
    protected abstract bool Runs { get; }

    /// <summary>How many batches are handed on at once, each by a loop of its own.</summary>
    protected virtual int Concurrency => 1;

    /// <summary>Hands the batch on, retrying as long as it takes; returns only when it is done or cancelled.</summary>
    protected abstract Task HandleAsync(List<VisitEvent> batch, CancellationToken ct);

    /// <summary>Waits, once visits have arrived, for more to join them in the next batch; by default not at all.</summary>
    protected virtual Task GatherAsync(CancellationToken ct) => Task.CompletedTask;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Runs ? Task.WhenAll(Enumerable.Range(0, Concurrency).Select(_ => Task.Run(() => ReadAsync(stoppingToken), CancellationToken.None)))
            : Task.CompletedTask;

    private async Task ReadAsync(CancellationToken stoppingToken)
    {
        var batch = new List<VisitEvent>(options.BatchSize);
        try
        {
            while (await recorder.Reader.WaitToReadAsync(stoppingToken))
            {
                await GatherAsync(stoppingToken);
                Fill(batch);
                await HandleAsync(batch, stoppingToken);
                batch.Clear();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            await DrainAsync(batch);
        }
    }

    private async Task DrainAsync(List<VisitEvent> batch)
    {
        recorder.Complete();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(options.ShutdownSeconds));
        try
        {
            do
            {
                Fill(batch);
                await HandleAsync(batch, deadline.Token);
                batch.Clear();
            }
            while (recorder.Reader.Count > 0);
        }
        catch (OperationCanceledException)
        {
            // Taken out of the buffer as they are counted, so that loops stopping side by side count each visit once.
            var left = batch.Count;
            while (recorder.Reader.TryRead(out _))
            {
                left++;
            }
            recorder.Dropped(left, "shutdown");
            logger.LogWarning("{Visits} visits could not be handed on within {Seconds} s of shutting down and were dropped", left,
                options.ShutdownSeconds);
        }
    }

    private void Fill(List<VisitEvent> batch)
    {
        while (batch.Count < options.BatchSize && recorder.Reader.TryRead(out var visit))
        {
            batch.Add(visit);
        }
    }
}
