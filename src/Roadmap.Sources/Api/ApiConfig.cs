using Roadmap.Core.Config;

namespace Roadmap.Sources.Api;

/// <summary>Config checks shared by the API source kinds.</summary>
public static class ApiConfig
{
    /// <summary>An http(s) URL that paths are appended to: no query or fragment.</summary>
    public static Uri? BaseUrl(ConfigSection section, string key, bool required = true)
    {
        var url = section.Url(key, required);
        if (url is not null && (url.Query.Length > 0 || url.Fragment.Length > 0))
        {
            section.Error(key, $"bad URL \"{section.Raw(key)}\": API paths are appended to it, so it must not have a query or fragment");
            return null;
        }

        return url;
    }

    /// <summary>A secret sent in a header must be printable ASCII; the error never quotes it.</summary>
    public static void CheckHeaderValue(ConfigSection section, string key, string? secret)
    {
        if (secret is null)
        {
            return;
        }

        var where = section.Has(key) || !section.Has(key + "File") ? key : key + "File";
        if (secret.Length == 0)
        {
            section.Error(where, "must not be empty (leave the key out for anonymous requests)");
        }
        else if (!secret.All(c => c is > ' ' and < '\u007f'))
        {
            section.Error(where, "must be printable ASCII without spaces or line breaks (it is sent in an HTTP header)");
        }
    }
}
