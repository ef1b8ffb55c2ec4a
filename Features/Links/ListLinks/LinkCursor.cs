using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace Shortlink.Features.Links;

/// <summary>
/// The opaque position in a newest-first link listing: the last id served, bound to the filters and the
/// owner it was served under and signed, so that a forged or edited cursor is refused rather than followed.
/// Other newest-first listings (a link's visits) use it too, each bound to a scope that names what it lists.
/// </summary>
internal sealed class LinkCursor(byte[] signingKey)
{
    private const byte Version = 1;
    private const int IdLength = 16;
    private const int FilterLength = 8;
    private const int MacLength = 16;
    private const int PayloadLength = 1 + IdLength + FilterLength;

    public string Encode(Guid lastId, string? tag, string? q, Guid? owner) => Encode(lastId, LinkListing(tag, q), owner);

    public bool TryDecode(string cursor, string? tag, string? q, Guid? owner, out Guid lastId) =>
        TryDecode(cursor, LinkListing(tag, q), owner, out lastId);

    /// <summary>A position in another listing; its scope must never read like a link listing's ("visits|…" cannot).</summary>
    public string Encode(Guid lastId, string scope, Guid? owner)
    {
        Span<byte> cursor = stackalloc byte[PayloadLength + MacLength];
        cursor[0] = Version;
        lastId.TryWriteBytes(cursor.Slice(1, IdLength), bigEndian: true, out _);
        FilterFingerprint(scope, owner, cursor.Slice(1 + IdLength, FilterLength));
        Sign(cursor[..PayloadLength], cursor[PayloadLength..]);
        return Base64Url.EncodeToString(cursor);
    }

    public bool TryDecode(string cursor, string scope, Guid? owner, out Guid lastId)
    {
        lastId = Guid.Empty;
        Span<byte> bytes = stackalloc byte[PayloadLength + MacLength];
        if (cursor.Length > 128
            || !Base64Url.IsValid(cursor, out var decodedLength)
            || decodedLength != bytes.Length
            || Base64Url.DecodeFromChars(cursor, bytes) != bytes.Length
            || bytes[0] != Version)
        {
            return false;
        }
        Span<byte> expectedMac = stackalloc byte[MacLength];
        Sign(bytes[..PayloadLength], expectedMac);
        Span<byte> expectedFilter = stackalloc byte[FilterLength];
        FilterFingerprint(scope, owner, expectedFilter);
        if (!CryptographicOperations.FixedTimeEquals(expectedMac, bytes[PayloadLength..])
            || !expectedFilter.SequenceEqual(bytes.Slice(1 + IdLength, FilterLength)))
        {
            return false;
        }
        lastId = new Guid(bytes.Slice(1, IdLength), bigEndian: true);
        return true;
    }

    private void Sign(ReadOnlySpan<byte> payload, Span<byte> mac)
    {
        Span<byte> full = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(signingKey, payload, full);
        full[..MacLength].CopyTo(mac);
    }

    private static string LinkListing(string? tag, string? q) => $"{tag?.Length}:{tag}|{q?.Length}:{q}";

    // The owner is part of the filters: a cursor from one owner's listing means nothing in another's.
    private static void FilterFingerprint(string scope, Guid? owner, Span<byte> destination)
    {
        var filters = Encoding.UTF8.GetBytes($"{scope}|{owner?.ToString() ?? "all"}");
        SHA256.HashData(filters)[..FilterLength].CopyTo(destination);
    }
}
