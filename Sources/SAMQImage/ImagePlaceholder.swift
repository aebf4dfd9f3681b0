import CPNG
import CJPEG
public enum SAMQImagePlaceholder {}
