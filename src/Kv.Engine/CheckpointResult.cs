namespace Kv.Engine;

/// <summary>What <see cref="Database.CreateCheckpoint"/> wrote: the tables of the checkpoint and how they got there.</summary>
/// <param name="Directory">The checkpoint's directory (open it with <see cref="Database.Open"/>).</param>
/// <param name="TableCount">Tables in the checkpoint.</param>
/// <param name="Bytes">Their total size (shared with the store while both hold hard links).</param>
/// <param name="LinkedFiles">Tables hard-linked.</param>
/// <param name="CopiedFiles">Tables copied because the file system could not link them.</param>
public sealed record CheckpointResult(string Directory, int TableCount, long Bytes, int LinkedFiles, int CopiedFiles);
