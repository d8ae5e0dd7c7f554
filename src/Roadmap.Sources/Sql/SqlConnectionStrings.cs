using System.Data.Common;

namespace Roadmap.Sources.Sql;

/// <summary>
/// Checks a connection string keyword by keyword against a provider's builder, so that an error names the keyword
/// and never quotes a value: a value may be a password, and the drivers' own messages quote values.
/// </summary>
internal static class SqlConnectionStrings
{
    /// <returns>What is wrong, or null when every keyword is known to <paramref name="typed"/> and its value fits.</returns>
    /// <param name="typed">An empty builder of the provider; on success it holds the connection string.</param>
    public static string? Problem(string connectionString, DbConnectionStringBuilder typed)
    {
        DbConnectionStringBuilder raw;
        try
        {
            raw = new DbConnectionStringBuilder { ConnectionString = connectionString };
        }
        catch (ArgumentException e)
        {
            // A fixed text: "Format of the initialization string does not conform to specification starting at index N."
            return e.Message;
        }

        foreach (string keyword in raw.Keys)
        {
            if (!typed.ContainsKey(keyword))
            {
                return $"keyword '{keyword}' is not supported";
            }

            var hint = Hint(typed, keyword);
            try
            {
                typed[keyword] = raw[keyword];
            }
            catch (Exception e) when (e is ArgumentException or FormatException or OverflowException or InvalidCastException)
            {
                return $"bad value for keyword '{keyword}'{hint}";
            }
        }

        return null;
    }

    /// <summary>
    /// <paramref name="message"/>, or <paramref name="fallback"/> when the message quotes any value of the connection
    /// string: for driver messages that are fixed texts today, in case one day they are not. The connection string
    /// must already have passed <see cref="Problem"/>.
    /// </summary>
    public static string Safe(string message, string connectionString, string fallback)
    {
        var raw = new DbConnectionStringBuilder { ConnectionString = connectionString };
        foreach (string keyword in raw.Keys)
        {
            if (raw[keyword] is string { Length: >= 3 } value && message.Contains(value, StringComparison.OrdinalIgnoreCase))
            {
                return fallback;
            }
        }

        return message;
    }

    private static string Hint(DbConnectionStringBuilder typed, string keyword)
    {
        try
        {
            return typed[keyword] switch
            {
                bool => " (expected true or false)",
                Enum e => $" (expected one of {string.Join(", ", Enum.GetNames(e.GetType()))})",
                _ => "",
            };
        }
        catch (Exception e) when (e is ArgumentException or KeyNotFoundException or InvalidOperationException)
        {
            return "";
        }
    }
}
