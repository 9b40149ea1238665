using System.Globalization;
using Kv.Engine.IO;

namespace Kv.Engine.Manifest;

/// <summary>
/// Names of the files in a database directory. Numbers come from one counter (<see cref="VersionSet.NewFileNumber"/>)
/// and are written with at least six digits.
/// <code>
/// NNNNNN.log        write-ahead log             NNNNNN.sst   SSTable
/// MANIFEST-NNNNNN   manifest (version edits)    CURRENT      "MANIFEST-NNNNNN\n"
/// NNNNNN.dbtmp      temporary (e.g. new CURRENT) LOCK        directory lock
/// </code>
/// wire format: the names are how a directory is read back; changing them breaks existing databases.
/// </summary>
public static class FileNames
{
    public const string CurrentName = "CURRENT";
    public const string LockName = "LOCK";
    public const string ManifestPrefix = "MANIFEST-";

    public static string LogFile(string directory, ulong number) => Path.Combine(directory, Numbered(number, ".log"));

    public static string TableFile(string directory, ulong number) => Path.Combine(directory, Numbered(number, ".sst"));

    public static string ManifestFile(string directory, ulong number) => Path.Combine(directory, ManifestName(number));

    public static string ManifestName(ulong number) => ManifestPrefix + number.ToString("D6", CultureInfo.InvariantCulture);

    public static string TempFile(string directory, ulong number) => Path.Combine(directory, Numbered(number, ".dbtmp"));

    public static string CurrentFile(string directory) => Path.Combine(directory, CurrentName);

    public static string LockFile(string directory) => Path.Combine(directory, LockName);

    public static bool CurrentExists(IFileSystem fs, string directory) => fs.FileExists(CurrentFile(directory));

    /// <summary>Recognizes a file name (not a path) of a database directory.</summary>
    public static bool TryParse(string name, out FileType type, out ulong number)
    {
        type = default;
        number = 0;
        switch (name)
        {
            case CurrentName:
                type = FileType.Current;
                return true;
            case LockName:
                type = FileType.Lock;
                return true;
        }
        if (name.StartsWith(ManifestPrefix, StringComparison.Ordinal))
        {
            type = FileType.Manifest;
            return TryParseNumber(name.AsSpan(ManifestPrefix.Length), out number);
        }
        var dot = name.LastIndexOf('.');
        if (dot <= 0) return false;
        var suffix = name.AsSpan(dot);
        if (suffix.SequenceEqual(".log")) type = FileType.Log;
        else if (suffix.SequenceEqual(".sst")) type = FileType.Table;
        else if (suffix.SequenceEqual(".dbtmp")) type = FileType.Temp;
        else return false;
        return TryParseNumber(name.AsSpan(0, dot), out number);
    }

    private static string Numbered(ulong number, string suffix) => number.ToString("D6", CultureInfo.InvariantCulture) + suffix;

    private static bool TryParseNumber(ReadOnlySpan<char> digits, out ulong number) =>
        ulong.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out number);
}
