import SAMQFormat
public enum SAMQConverterPlaceholder {}
