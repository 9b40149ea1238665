using Kv.Node.Cluster.Replica;
using Kv.Protocol.Internode;

namespace Kv.Node.Cluster.Coordination;

/// <summary>
/// Merges the pages several replicas returned for one range-scan request (same start key, end key and limit) into
/// the rows a client may be shown, newest version of each key first by <see cref="ReplicaCell.Supersedes"/>.
/// </summary>
/// <remarks>
/// A page that stopped at its limit says nothing about keys at or past its next start key: another replica's rows
/// there may be shadowed by versions this page did not return yet. So the merge keeps only the keys below the
/// smallest next start key among the incomplete pages, and the next request starts there. Every incomplete page
/// returned at least one row below its next start key, so each round moves the start forward.
/// </remarks>
internal static class ScanPages
{
    /// <summary>Adds to <paramref name="into"/>, in key order, the winning row of every key below the merge's bound,
    /// tombstones included; returns the start key of the next request (empty: every page was complete). With
    /// <paramref name="stale"/>, also lists each page that lacks a winning row or holds an older version of its key
    /// (the replica to repair, by its page's index, and the row to write to it): every page covers every key below the
    /// bound, so a key missing from one is missing on its replica.</summary>
    public static ReadOnlyMemory<byte> Merge(IReadOnlyList<RangeScanResponse> pages, List<ScanRow> into, List<(int Page, ScanRow Winner)>? stale = null)
    {
        ReadOnlyMemory<byte> bound = ReadOnlyMemory<byte>.Empty;
        foreach (var page in pages)
        {
            if (!page.IsComplete && (bound.IsEmpty || page.NextStartKey.Span.SequenceCompareTo(bound.Span) < 0)) bound = page.NextStartKey;
        }

        var positions = new int[pages.Count];
        while (true)
        {
            // The smallest key any page has next, below the bound; then the newest version of it across pages.
            var found = false;
            ScanRow winner = default;
            for (var p = 0; p < pages.Count; p++)
            {
                var rows = pages[p].Rows;
                if (positions[p] == rows.Length) continue;
                var row = rows[positions[p]];
                if (!bound.IsEmpty && row.StorageKey.Span.SequenceCompareTo(bound.Span) >= 0) continue;
                if (!found)
                {
                    winner = row;
                    found = true;
                    continue;
                }
                var order = row.StorageKey.Span.SequenceCompareTo(winner.StorageKey.Span);
                if (order < 0 || (order == 0 && ReplicaCell.Supersedes(Cell(row), Cell(winner)))) winner = row;
            }
            if (!found) return bound;
            into.Add(winner);
            for (var p = 0; p < pages.Count; p++)
            {
                var rows = pages[p].Rows;
                if (positions[p] < rows.Length && rows[positions[p]].StorageKey.Span.SequenceEqual(winner.StorageKey.Span))
                {
                    if (stale is not null && ReplicaCell.Supersedes(Cell(winner), Cell(rows[positions[p]]))) stale.Add((p, winner));
                    positions[p]++;
                }
                else
                {
                    stale?.Add((p, winner));
                }
            }
        }
    }

    internal static ReplicaCell Cell(in ScanRow row) => new(row.Kind == MutationKind.Tombstone ? ReadOutcome.Deleted : ReadOutcome.Found,
        row.Timestamp, row.ExpiresAt, row.Value);
}
