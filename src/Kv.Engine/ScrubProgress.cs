namespace Kv.Engine;

/// <summary>Progress of a <see cref="Database.Scrub"/>, reported after each table.</summary>
/// <param name="TablesDone">Tables verified so far.</param>
/// <param name="TablesTotal">Tables the scrub will verify.</param>
/// <param name="BytesChecked">Bytes read so far.</param>
/// <param name="ErrorsFound">Damaged parts found so far.</param>
/// <param name="LastFile">The table just verified.</param>
public readonly record struct ScrubProgress(int TablesDone, int TablesTotal, long BytesChecked, int ErrorsFound, string LastFile);
