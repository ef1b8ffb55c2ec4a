using System.Text;

namespace Shortlink.Tests.Support;

/// <summary>
/// Country databases for the tests: the real GeoLite2 file that ops/geo-fetch brings (ops/test passes its path on),
/// and small files written here in the MaxMind DB format (https://maxmind.github.io/MaxMind-DB/) for the schemas and
/// mistakes the real file cannot show: MaxMind's own country.iso_code, an ASN database, a field of the wrong type.
/// </summary>
internal static class CountryDatabases
{
    public static string GeoLite2 =>
        Environment.GetEnvironmentVariable("SHORTLINK_TEST_COUNTRY_DATABASE") is { Length: > 0 } path
            ? path
            : throw new InvalidOperationException(
                "SHORTLINK_TEST_COUNTRY_DATABASE is not set: run the tests through ops/test, or set it to the path ops/geo-fetch prints.");

    /// <summary>
    /// An IPv4 database whose one record covers 0.0.0.0/1 (8.8.8.8 among them); 128.0.0.0/1 is empty, or with
    /// <paramref name="damaged"/> points past the end of the file. Values are strings, uints and maps with string keys
    /// (the format's string, uint32 and map). The caller deletes the file.
    /// </summary>
    public static string Write(string databaseType, IReadOnlyDictionary<string, object> record, bool damaged = false)
    {
        const uint nodeCount = 1;
        var file = new List<byte>();
        // One node of two 24-bit records: the left one points at the data section's first byte, the right one is empty.
        AddBigEndian(file, nodeCount + 16, 3);
        AddBigEndian(file, damaged ? 0xFF_FFFF : nodeCount, 3);
        file.AddRange(new byte[16]);
        Encode(file, record);
        file.AddRange([0xAB, 0xCD, 0xEF, .. "MaxMind.com"u8]);
        Encode(file, new Dictionary<string, object>
        {
            ["binary_format_major_version"] = (ushort)2,
            ["binary_format_minor_version"] = (ushort)0,
            ["build_epoch"] = 0UL,
            ["database_type"] = databaseType,
            ["description"] = new Dictionary<string, object>(),
            ["ip_version"] = (ushort)4,
            ["languages"] = Array.Empty<object>(),
            ["node_count"] = nodeCount,
            ["record_size"] = (ushort)24,
        });
        var path = Path.Combine(Path.GetTempPath(), $"shortlink-{Guid.NewGuid():N}.mmdb");
        File.WriteAllBytes(path, [.. file]);
        return path;
    }

    private static void AddBigEndian(List<byte> output, ulong value, int size)
    {
        for (var i = size - 1; i >= 0; i--)
        {
            output.Add((byte)(value >> (8 * i)));
        }
    }

    private static void Encode(List<byte> output, object value)
    {
        switch (value)
        {
            case string text:
                var bytes = Encoding.UTF8.GetBytes(text);
                Control(output, 2, bytes.Length);
                output.AddRange(bytes);
                break;
            case ushort number:
                Control(output, 5, 2);
                AddBigEndian(output, number, 2);
                break;
            case uint number:
                Control(output, 6, 4);
                AddBigEndian(output, number, 4);
                break;
            case ulong number:
                Control(output, 9, 8);
                AddBigEndian(output, number, 8);
                break;
            case IReadOnlyDictionary<string, object> map:
                Control(output, 7, map.Count);
                foreach (var (key, item) in map)
                {
                    Encode(output, key);
                    Encode(output, item);
                }
                break;
            case object[] array:
                Control(output, 11, array.Length);
                foreach (var item in array)
                {
                    Encode(output, item);
                }
                break;
            default:
                throw new ArgumentException($"No MaxMind DB encoding for {value.GetType()} here.", nameof(value));
        }
    }

    /// <summary>
    /// A control byte: the type in its top three bits (or 0 there and the type less 7 in a byte after it) and the size
    /// in its low five, where 29 says that the size less 29 follows in a byte of its own.
    /// </summary>
    private static void Control(List<byte> output, int type, int size)
    {
        if (size >= 29 + 256)
        {
            throw new ArgumentOutOfRangeException(nameof(size), size, "Larger sizes are not needed here.");
        }
        var sizeBits = Math.Min(size, 29);
        output.Add((byte)((type <= 7 ? type << 5 : 0) | sizeBits));
        if (type > 7)
        {
            output.Add((byte)(type - 7));
        }
        if (sizeBits == 29)
        {
            output.Add((byte)(size - 29));
        }
    }
}
