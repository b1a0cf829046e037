// Validates Kubernetes objects against the models of the official Kubernetes Java client
// (generated from the Kubernetes OpenAPI spec): unknown fields, missing required fields and wrongly
// typed values (a string where an integer belongs, a malformed quantity, …) are errors.
//
//   java -cp '<libs>/*' K8sValidate.java objects.json
//
// objects.json holds a JSON array of objects. Prints a JSON array with one
// {"index", "kind", "name", "model", "error"} entry per object (error null when valid).
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

public class K8sValidate {
  public static void main(String[] args) throws Exception {
    if (args.length != 1) {
      System.err.println("usage: K8sValidate <objects.json>");
      System.exit(64);
    }
    JsonArray objects = JsonParser.parseString(Files.readString(Path.of(args[0]), StandardCharsets.UTF_8)).getAsJsonArray();
    JsonArray results = new JsonArray();
    for (int i = 0; i < objects.size(); i++) {
      JsonObject object = objects.get(i).getAsJsonObject();
      JsonObject result = new JsonObject();
      result.addProperty("index", i);
      String apiVersion = string(object, "apiVersion");
      String kind = string(object, "kind");
      result.addProperty("kind", kind);
      JsonObject metadata = object.has("metadata") && object.get("metadata").isJsonObject() ? object.getAsJsonObject("metadata") : new JsonObject();
      result.addProperty("name", string(metadata, "name"));
      String model = modelName(apiVersion, kind);
      result.addProperty("model", model);
      result.add("error", JsonNull.INSTANCE);
      try {
        Class<?> type = Class.forName("io.kubernetes.client.openapi.models." + model);
        Method fromJson = type.getMethod("fromJson", String.class);
        fromJson.invoke(null, object.toString());
      } catch (ClassNotFoundException e) {
        result.addProperty("error", "no Kubernetes model " + model + " for apiVersion " + apiVersion + ", kind " + kind);
      } catch (InvocationTargetException e) {
        Throwable cause = e.getCause();
        while (cause.getCause() != null && cause.getMessage() == null) cause = cause.getCause();
        result.addProperty("error", cause.getClass().getSimpleName() + ": " + cause.getMessage());
      }
      results.add(result);
    }
    System.out.println(new GsonBuilder().serializeNulls().create().toJson(results));
  }

  private static String string(JsonObject object, String field) {
    JsonElement value = object.get(field);
    return value != null && value.isJsonPrimitive() ? value.getAsString() : "";
  }

  /** apps/v1 + Deployment -> V1Deployment; autoscaling/v2 + HorizontalPodAutoscaler -> V2HorizontalPodAutoscaler. */
  private static String modelName(String apiVersion, String kind) {
    String version = apiVersion.contains("/") ? apiVersion.substring(apiVersion.indexOf('/') + 1) : apiVersion;
    if (version.isEmpty() || kind.isEmpty()) return "?";
    return Character.toUpperCase(version.charAt(0)) + version.substring(1) + kind;
  }
}
