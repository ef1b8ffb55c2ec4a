using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Shortlink.Infrastructure.Security;

/// <summary>
/// An API key: "sl_live_" and 43 base62 characters (256 bits from the system's RNG). The first characters
/// are a public prefix that tells keys apart; the service keeps only the SHA-256 of the whole key, which
/// for a secret this long is as good as a slow hash and lets a lookup find it by index.
/// </summary>
internal static partial class ApiKeyFormat
{
    public const string Start = "sl_live_";
    public const int SecretLength = 43;
    public const int PrefixLength = 14;

    private const string Base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    public static string NewKey() => Start + RandomNumberGenerator.GetString(Base62, SecretLength);

    public static bool IsWellFormed(string? key) => key is not null && Shape().IsMatch(key);

    public static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    public static string PrefixOf(string key) => key[..PrefixLength];

    [GeneratedRegex(@"^sl_live_[0-9A-Za-z]{43}\z")]
    private static partial Regex Shape();
}
