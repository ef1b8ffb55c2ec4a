using FluentValidation;
using Microsoft.AspNetCore.Identity;

namespace Shortlink.Features.Links;

/// <summary>
/// Passwords that visitors must give to follow a link. Only a hash is kept: ASP.NET Core's PasswordHasher,
/// PBKDF2 with HMAC-SHA512, 100,000 iterations and a random salt per password, so that a leaked table gives
/// nobody the passwords. A check costs tens of milliseconds of CPU on purpose, which is why wrong guesses
/// are rate-limited before one is made.
/// </summary>
internal static class LinkPasswords
{
    public const int MinLength = 4;
    public const int MaxLength = 128;

    private static readonly PasswordHasher<LinkRow> Hasher = new();

    public static string Hash(string password) => Hasher.HashPassword(null!, password);

    public static bool Verifies(string hash, string password) =>
        Hasher.VerifyHashedPassword(null!, hash, password) is not PasswordVerificationResult.Failed;

    public static IRuleBuilderOptions<T, string?> ValidPassword<T>(this IRuleBuilder<T, string?> rule) =>
        rule
            .Must(password => password is null || password.Length is >= MinLength and <= MaxLength)
            .WithMessage($"The password must be {MinLength} to {MaxLength} characters.")
            .Must(password => password is null || !password.Any(char.IsControl))
            .WithMessage("The password must not contain control characters.");
}
