import SAMQFormat
public enum SAMQRuntimePlaceholder {}
