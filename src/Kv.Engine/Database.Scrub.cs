using Microsoft.Extensions.Logging;

namespace Kv.Engine;

// Scrub: online verification of every checksum of every live file (docs/engine.md).
// Threading: any thread, alongside reads, writes, flushes and compactions. The tables come from a pinned read view
// (a compaction cannot delete them mid-scrub); the manifest is read under the version set's apply lock.
public sealed partial class Database
{
    private ScrubReport? _lastScrub; // the last scrub that ran to the end (EngineStats.LastScrub)

    /// <summary>
    /// Verifies, without taking the store offline, every checksum of every live table (footer, filter, properties,
    /// index and every data block, read from the file, not the cache) and of every manifest record, and that CURRENT
    /// names the manifest. Damage is reported, not thrown: the store keeps serving whatever is intact (a read that
    /// needs a damaged block fails with <see cref="CorruptionException"/>). Each damaged part is also logged as an
    /// error. Tables flushed or compacted after the scrub began are not included.
    /// </summary>
    /// <remarks>Reads share the compaction rate limit (<see cref="EngineOptions.CompactionRateLimitBytesPerSecond"/>).</remarks>
    /// <param name="progress">Called on this thread after each table.</param>
    /// <param name="cancellationToken">Stops the scrub between blocks (throws <see cref="OperationCanceledException"/>).</param>
    public ScrubReport Scrub(Action<ScrubProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ThrowIfUnusable();
        var errors = new List<CorruptionException>();
        long blocks = 0, bytes = 0;
        long unpaid = 0;
        var view = AcquireView();
        var tables = 0;
        try
        {
            foreach (var table in view.Tables)
            {
                var before = errors.Count;
                using (var lease = table.AcquireReader())
                    blocks += lease.Reader.Scrub(errors, OnBlock, cancellationToken);
                tables++;
                for (var i = before; i < errors.Count; i++)
                    _logger.LogError("scrub: table {FileNumber} (L{Level}) is damaged: {Problem}", table.FileNumber, table.Level, errors[i].Message);
                progress?.Invoke(new ScrubProgress(tables, view.Tables.Length, bytes, errors.Count, table.Path));
            }
        }
        finally
        {
            view.Release();
        }

        if (_rateLimiter is not null && unpaid > 0) _rateLimiter.Acquire(unpaid, cancellationToken);

        var manifestErrorsFrom = errors.Count;
        var (manifestPath, manifestBytes) = _versions.Scrub(errors);
        bytes += manifestBytes;
        for (var i = manifestErrorsFrom; i < errors.Count; i++)
            _logger.LogError("scrub: the manifest is damaged: {Problem}", errors[i].Message);
        _logger.LogInformation("scrub of {Directory}: {Tables} tables, {Blocks} blocks, {Bytes} bytes verified; {Errors} damaged part(s)",
                               _directory, tables, blocks, bytes, errors.Count);
        var report = new ScrubReport
        {
            TablesChecked = tables,
            BlocksChecked = blocks,
            BytesChecked = bytes,
            ManifestPath = manifestPath,
            Errors = errors,
            CompletedAt = _options.TimeProvider.GetUtcNow(),
        };
        Volatile.Write(ref _lastScrub, report);
        return report;

        // Scrub reads share the compaction budget (EngineOptions.CompactionRateLimitBytesPerSecond), paid per
        // 64 KiB, so a scrub cannot take the disk from foreground reads and WAL syncs either.
        void OnBlock(int size)
        {
            bytes += size;
            if (_rateLimiter is null) return;
            unpaid += size;
            if (unpaid < 64 * 1024) return;
            _rateLimiter.Acquire(unpaid, cancellationToken);
            unpaid = 0;
        }
    }
}
